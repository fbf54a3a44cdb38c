#include "declarative/yaml_json.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <regex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ok::declarative {
namespace {

std::string where(const yaml_mark_t& mark) {
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
std::optional<boost::json::value> core_schema_value(const std::string& s, const yaml_mark_t& mark) {
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

// Builds the JSON value from libyaml's events. libyaml rather than yaml-cpp reads: yaml-cpp
// builds a node tree first and took 10 s for a 32 MiB dump of 100 000 entities, libyaml's
// parser streams (yaml-cpp still writes, where it is fast enough and simpler).
class EventReader {
 public:
  EventReader(std::string_view text, const YamlLimits& limits) : limits_(limits) {
    yaml_parser_initialize(&parser_);
    yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  }
  ~EventReader() { yaml_parser_delete(&parser_); }
  EventReader(const EventReader&) = delete;
  EventReader& operator=(const EventReader&) = delete;

  boost::json::value read() {
    Event e = next();  // stream start
    e = next();
    if (e->type == YAML_STREAM_END_EVENT) return nullptr;
    // A document start.
    boost::json::value out = value(next(), 0);
    next();  // document end
    e = next();
    if (e->type == YAML_DOCUMENT_START_EVENT) {
      throw FileError(fmt::format("{}one document per file: a second one starts here", where(e->start_mark)));
    }
    return out;
  }

 private:
  struct Event {
    yaml_event_t event{};
    Event() = default;
    Event(const Event&) = delete;
    Event& operator=(const Event&) = delete;
    Event(Event&& other) noexcept : event(other.event) { other.event.type = YAML_NO_EVENT; }
    Event& operator=(Event&& other) noexcept {
      std::swap(event, other.event);
      return *this;
    }
    ~Event() { yaml_event_delete(&event); }
    const yaml_event_t* operator->() const { return &event; }
  };

  static std::string where(const yaml_mark_t& mark) {
    return fmt::format("line {}, column {}: ", mark.line + 1, mark.column + 1);
  }

  Event next() {
    Event e;
    if (!yaml_parser_parse(&parser_, &e.event)) {
      throw FileError(fmt::format("{}{}{}", where(parser_.problem_mark), parser_.problem ? parser_.problem : "invalid",
                                  parser_.context ? fmt::format(" ({})", parser_.context) : std::string()));
    }
    return e;
  }

  void count(const yaml_mark_t& mark, std::size_t n = 1) {
    nodes_ += n;
    if (nodes_ > limits_.max_nodes) {
      throw FileError(
          fmt::format("{}the document expands to more than {} nodes (anchors and aliases count each "
                      "time they are used)",
                      where(mark), limits_.max_nodes));
    }
  }

  static std::size_t size_of(const boost::json::value& v) {
    std::size_t n = 1;
    if (v.is_array()) {
      for (const auto& item : v.get_array()) n += size_of(item);
    } else if (v.is_object()) {
      for (const auto& [_, item] : v.get_object()) n += size_of(item);
    }
    return n;
  }

  void remember(const unsigned char* anchor, const boost::json::value& v) {
    if (anchor) anchors_[reinterpret_cast<const char*>(anchor)] = v;
  }

  boost::json::value value(Event e, std::size_t depth) {
    if (depth > limits_.max_depth) {
      throw FileError(fmt::format("{}nested deeper than {} levels", where(e->start_mark), limits_.max_depth));
    }
    switch (e->type) {
      case YAML_ALIAS_EVENT: {
        auto it = anchors_.find(reinterpret_cast<const char*>(e->data.alias.anchor));
        if (it == anchors_.end())
          throw FileError(fmt::format("{}an alias names no anchor before it", where(e->start_mark)));
        count(e->start_mark, size_of(it->second));
        return it->second;
      }
      case YAML_SCALAR_EVENT: {
        count(e->start_mark);
        const auto& sc = e->data.scalar;
        const std::string text(reinterpret_cast<const char*>(sc.value), sc.length);
        const char* tag = reinterpret_cast<const char*>(sc.tag);
        // A quoted or block scalar, or one tagged !!str, is a string; a plain one is typed by
        // its text.
        const bool string =
            sc.style != YAML_PLAIN_SCALAR_STYLE || (tag && std::string_view(tag) == "tag:yaml.org,2002:str");
        auto typed = string ? std::nullopt : core_schema_value(text, e->start_mark);
        boost::json::value out = typed ? std::move(*typed) : boost::json::value(text);
        remember(sc.anchor, out);
        return out;
      }
      case YAML_SEQUENCE_START_EVENT: {
        count(e->start_mark);
        boost::json::array out;
        for (Event item = next(); item->type != YAML_SEQUENCE_END_EVENT; item = next()) {
          out.push_back(value(std::move(item), depth + 1));
        }
        boost::json::value v(std::move(out));
        remember(e->data.sequence_start.anchor, v);
        return v;
      }
      case YAML_MAPPING_START_EVENT: {
        count(e->start_mark);
        boost::json::object out;
        for (Event key = next(); key->type != YAML_MAPPING_END_EVENT; key = next()) {
          if (key->type != YAML_SCALAR_EVENT) {
            throw FileError(fmt::format("{}a mapping key must be a string", where(key->start_mark)));
          }
          const std::string name(reinterpret_cast<const char*>(key->data.scalar.value), key->data.scalar.length);
          if (out.contains(name)) {
            throw FileError(fmt::format("{}the key [{}] appears twice in one mapping", where(key->start_mark), name));
          }
          out.emplace(name, value(next(), depth + 1));
        }
        boost::json::value v(std::move(out));
        remember(e->data.mapping_start.anchor, v);
        return v;
      }
      default:
        throw FileError(fmt::format("{}unexpected YAML", where(e->start_mark)));
    }
  }

  const YamlLimits& limits_;
  yaml_parser_t parser_{};
  std::size_t nodes_ = 0;
  std::unordered_map<std::string, boost::json::value> anchors_;
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
  // JSON is YAML, but yaml-cpp reads it about ten times slower than Boost.JSON (2.8 s against
  // 0.2 s for a 100 000-entity file): a document that is JSON is read as JSON. Anything
  // Boost.JSON refuses goes to yaml-cpp, which says where it is wrong.
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    boost::system::error_code ec;
    boost::json::parse_options options;
    options.max_depth = limits.max_depth + 1;
    auto parsed = boost::json::parse(text, ec, {}, options);
    if (!ec) return parsed;
  }
  return EventReader(text, limits).read();
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
