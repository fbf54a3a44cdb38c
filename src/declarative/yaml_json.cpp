#include "declarative/yaml_json.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <regex>
#include <unordered_set>
#include <vector>

namespace ok::declarative {
namespace {

std::string where(const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  return fmt::format("line {}, column {}: ", mark.line + 1, mark.column + 1);
}

// YAML 1.2 core schema, section 10.3.2 (plain scalars only).
bool is_null_word(const std::string& s) { return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL"; }
bool is_true_word(const std::string& s) { return s == "true" || s == "True" || s == "TRUE"; }
bool is_false_word(const std::string& s) { return s == "false" || s == "False" || s == "FALSE"; }

const std::regex& decimal_integer() {
  static const std::regex re("[-+]?[0-9]+");
  return re;
}
const std::regex& octal_integer() {
  static const std::regex re("0o[0-7]+");
  return re;
}
const std::regex& hex_integer() {
  static const std::regex re("0x[0-9a-fA-F]+");
  return re;
}
const std::regex& decimal_float() {
  static const std::regex re("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  return re;
}
const std::regex& special_float() {
  static const std::regex re("[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|NAN)");
  return re;
}

// A plain scalar's text as its value; nullopt for a string.
std::optional<boost::json::value> core_schema_value(const std::string& s, const YAML::Mark& mark) {
  if (is_null_word(s)) return boost::json::value(nullptr);
  if (is_true_word(s)) return boost::json::value(true);
  if (is_false_word(s)) return boost::json::value(false);
  const auto integer = [&](std::string_view digits, int base, bool negative) -> boost::json::value {
    std::uint64_t magnitude = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (ec != std::errc() || end != digits.data() + digits.size() || magnitude > max + (negative ? 1 : 0)) {
      throw FileError(fmt::format("{}the integer {} does not fit in 64 bits", where(mark), s));
    }
    if (negative)
      return boost::json::value(magnitude == max + 1 ? std::numeric_limits<std::int64_t>::min()
                                                     : -static_cast<std::int64_t>(magnitude));
    return boost::json::value(static_cast<std::int64_t>(magnitude));
  };
  if (std::regex_match(s, decimal_integer())) {
    std::string_view digits(s);
    const bool negative = digits.front() == '-';
    if (digits.front() == '-' || digits.front() == '+') digits.remove_prefix(1);
    return integer(digits, 10, negative);
  }
  if (std::regex_match(s, octal_integer())) return integer(std::string_view(s).substr(2), 8, false);
  if (std::regex_match(s, hex_integer())) return integer(std::string_view(s).substr(2), 16, false);
  if (std::regex_match(s, special_float())) {
    throw FileError(fmt::format("{}{} is not a number JSON can hold", where(mark), s));
  }
  if (std::regex_match(s, decimal_float())) {
    const double d = std::strtod(s.c_str(), nullptr);
    if (!std::isfinite(d)) throw FileError(fmt::format("{}the number {} is out of range", where(mark), s));
    return boost::json::value(d);
  }
  return std::nullopt;
}

class Converter {
 public:
  explicit Converter(const YamlLimits& limits) : limits_(limits) {}

  boost::json::value convert(const YAML::Node& node, std::size_t depth) {
    if (++nodes_ > limits_.max_nodes) {
      throw FileError(
          fmt::format("{}the document expands to more than {} nodes (anchors and aliases count each "
                      "time they are used)",
                      where(node.Mark()), limits_.max_nodes));
    }
    if (depth > limits_.max_depth) {
      throw FileError(fmt::format("{}nested deeper than {} levels", where(node.Mark()), limits_.max_depth));
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        return nullptr;
      case YAML::NodeType::Scalar:
        return scalar(node);
      case YAML::NodeType::Sequence: {
        boost::json::array out;
        out.reserve(node.size());
        for (const auto& item : node) out.push_back(convert(item, depth + 1));
        return out;
      }
      case YAML::NodeType::Map: {
        boost::json::object out;
        out.reserve(node.size());
        for (const auto& entry : node) {
          const YAML::Node& key = entry.first;
          if (!key.IsScalar()) throw FileError(fmt::format("{}a mapping key must be a string", where(key.Mark())));
          const std::string& name = key.Scalar();
          if (out.contains(name)) {
            throw FileError(fmt::format("{}the key [{}] appears twice in one mapping", where(key.Mark()), name));
          }
          out.emplace(name, convert(entry.second, depth + 1));
        }
        return out;
      }
    }
    return nullptr;
  }

 private:
  static boost::json::value scalar(const YAML::Node& node) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    // "?": a plain scalar, typed by its text; "!": quoted or block, a string; an explicit
    // !!str is a string too, other explicit tags are typed by the text.
    if (tag == "!" || tag == "tag:yaml.org,2002:str") return boost::json::value(text);
    if (auto typed = core_schema_value(text, node.Mark())) return *typed;
    return boost::json::value(text);
  }

  const YamlLimits& limits_;
  std::size_t nodes_ = 0;
};

// Would `s`, emitted plain, read back as something else than this string?
bool needs_quotes(const std::string& s) {
  if (is_null_word(s) || is_true_word(s) || is_false_word(s)) return true;
  // YAML 1.1 readers (and many tools) also take these for booleans.
  static const std::unordered_set<std::string> yaml11 = {"y",  "Y",  "yes", "Yes", "YES", "n",   "N",   "no",
                                                         "No", "NO", "on",  "On",  "ON",  "off", "Off", "OFF"};
  if (yaml11.contains(s)) return true;
  return std::regex_match(s, decimal_integer()) || std::regex_match(s, octal_integer()) ||
         std::regex_match(s, hex_integer()) || std::regex_match(s, decimal_float()) ||
         std::regex_match(s, special_float());
}

void emit(YAML::Emitter& out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out << YAML::Null;
      break;
    case boost::json::kind::bool_:
      out << YAML::TrueFalseBool << v.get_bool();
      break;
    case boost::json::kind::int64:
      out << v.get_int64();
      break;
    case boost::json::kind::uint64:
      out << v.get_uint64();
      break;
    case boost::json::kind::double_: {
      // Shortest text that reads back as the same double, with a decimal point or an
      // exponent so that it stays a float.
      char buffer[32];
      const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v.get_double());
      std::string text(buffer, ec == std::errc() ? end : buffer);
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
      out << text;
      break;
    }
    case boost::json::kind::string: {
      const std::string s(v.get_string());
      if (needs_quotes(s)) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    case boost::json::kind::array:
      out << YAML::BeginSeq;
      for (const auto& item : v.get_array()) emit(out, item);
      out << YAML::EndSeq;
      break;
    case boost::json::kind::object:
      out << YAML::BeginMap;
      for (const auto& [key, value] : v.get_object()) {
        const std::string k(key);
        out << YAML::Key;
        if (needs_quotes(k)) out << YAML::DoubleQuoted;
        out << k << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      break;
  }
}

}  // namespace

boost::json::value yaml_to_json(std::string_view text, const YamlLimits& limits) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    throw FileError(fmt::format("{}{}", where(e.mark), e.msg));
  }
  if (documents.empty()) return nullptr;
  if (documents.size() > 1) {
    throw FileError(
        fmt::format("{}one document per file: this one holds {}", where(documents[1].Mark()), documents.size()));
  }
  return Converter(limits).convert(documents.front(), 0);
}

std::string json_to_yaml(const boost::json::value& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetNullFormat(YAML::LowerNull);  // `null`, as decK writes it, rather than `~`
  emit(out, value);
  std::string text = out.c_str();
  text += '\n';
  return text;
}

}  // namespace ok::declarative
