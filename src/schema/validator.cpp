#include "schema/validator.hpp"

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "util/ids.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

namespace ok::schema {
namespace {

using errors::InvalidParameter;
using errors::InvalidParameters;
using errors::Rule;
namespace bj = boost::json;

// "labels.env", "proxy_urls[0].port"; an empty key is shown as [""] so that a field is never
// an empty string.
std::string join_path(std::string_view prefix, std::string_view name) {
  const std::string key = name.empty() ? std::string(R"([""])") : std::string(name);
  if (prefix.empty()) return key;
  return name.empty() ? fmt::format("{}{}", prefix, key) : fmt::format("{}.{}", prefix, key);
}

using detail::add;

std::string_view kind_article(Kind kind) {
  switch (kind) {
    case Kind::integer:
      return "an integer";
    case Kind::number:
      return "a number";
    case Kind::boolean:
      return "a boolean";
    case Kind::labels:
    case Kind::object:
      return "an object";
    case Kind::array:
      return "an array";
    default:
      return "a string";
  }
}

Rule kind_rule(Kind kind) {
  switch (kind) {
    case Kind::integer:
      return Rule::is_integer;
    case Kind::number:
      return Rule::is_number;
    case Kind::boolean:
      return Rule::is_boolean;
    case Kind::labels:
    case Kind::object:
      return Rule::is_object;
    case Kind::array:
      return Rule::is_array;
    default:
      return Rule::is_string;
  }
}

}  // namespace

std::string canonical_json(const bj::value& v) {
  if (v.is_object()) {
    std::vector<std::pair<std::string, std::string>> members;
    for (const auto& [k, m] : v.get_object()) members.emplace_back(bj::serialize(bj::string(k)), canonical_json(m));
    std::sort(members.begin(), members.end());
    std::string out = "{";
    for (const auto& [k, m] : members) {
      if (out.size() > 1) out.push_back(',');
      out.append(k).push_back(':');
      out.append(m);
    }
    out.push_back('}');
    return out;
  }
  if (v.is_array()) {
    std::string out = "[";
    for (const auto& item : v.get_array()) {
      if (out.size() > 1) out.push_back(',');
      out.append(canonical_json(item));
    }
    out.push_back(']');
    return out;
  }
  return bj::serialize(v);
}

namespace {

using detail::is_integral;

void validate_object(const bj::value& value, const ObjectSchema& schema, Mode mode, const std::string& prefix,
                     InvalidParameters& out);

void validate_value(const bj::value& value, const Field& field, Mode mode, const std::string& path,
                    InvalidParameters& out) {
  if (value.is_null()) {
    if (!field.nullable)
      add(out, path, kind_rule(field.kind), fmt::format("must be {}, not null", kind_article(field.kind)));
    return;
  }
  switch (field.kind) {
    case Kind::string:
    case Kind::uuid:
    case Kind::date_time:
    case Kind::enumeration: {
      if (!value.is_string()) {
        add(out, path, Rule::is_string, "must be a string");
        return;
      }
      std::string_view s = value.get_string();
      if (field.kind == Kind::uuid && !is_uuid(s)) {
        add(out, path, Rule::is_uuid, "must be a valid UUID");
        return;
      }
      if (field.kind == Kind::date_time && !is_rfc3339(s)) {
        add(out, path, Rule::is_date_time, "must be an RFC 3339 date-time");
        return;
      }
      if (field.kind == Kind::enumeration) {
        bool found = false;
        for (const auto& c : field.choices) found = found || c == s;
        if (!found) {
          InvalidParameter p{.field = path,
                             .rule = Rule::enum_,
                             .reason = fmt::format("must be one of [{}]", fmt::join(field.choices, ", "))};
          for (const auto& c : field.choices) p.choices.emplace_back(c);
          out.push_back(std::move(p));
        }
        return;
      }
      const auto length = static_cast<std::int64_t>(utf8_length(s));
      if (field.min_length && length < *field.min_length) {
        if (length == 0) {
          add(out, path, Rule::min_length, "cannot be blank", field.min_length);
        } else {
          add(out, path, Rule::min_length, fmt::format("must have at least {} characters", *field.min_length),
              field.min_length);
        }
        return;
      }
      if (field.max_length && length > *field.max_length) {
        add(out, path, Rule::max_length, fmt::format("must have at most {} characters", *field.max_length),
            field.max_length);
        return;
      }
      if (field.check) {
        if (auto problem = field.check(s); !problem.empty())
          add(out, path, field.check_is_whole_value ? Rule::invalid : Rule::matches_regex, problem);
      }
      return;
    }
    case Kind::integer:
    case Kind::number: {
      const bool ok_type = field.kind == Kind::integer ? is_integral(value) : value.is_number();
      if (!ok_type) {
        add(out, path, kind_rule(field.kind), fmt::format("must be {}", kind_article(field.kind)));
        return;
      }
      const double d = value.to_number<double>();
      if (field.minimum && d < static_cast<double>(*field.minimum)) {
        add(out, path, Rule::min, fmt::format("must be at least {}", *field.minimum), field.minimum);
      } else if (field.maximum && d > static_cast<double>(*field.maximum)) {
        add(out, path, Rule::max, fmt::format("must be at most {}", *field.maximum), field.maximum);
      }
      return;
    }
    case Kind::boolean:
      if (!value.is_bool()) add(out, path, Rule::is_boolean, "must be a boolean");
      return;
    case Kind::labels:
      validate_labels(value, path, mode, field.max_items.value_or(50), out);
      return;
    case Kind::object:
      if (!value.is_object()) {
        add(out, path, Rule::is_object, "must be an object");
        return;
      }
      if (field.object) validate_object(value, *field.object, Mode::create, path, out);
      return;
    case Kind::array: {
      if (!value.is_array()) {
        add(out, path, Rule::is_array, "must be an array");
        return;
      }
      const auto& arr = value.get_array();
      const auto n = static_cast<std::int64_t>(arr.size());
      if (field.min_items && n < *field.min_items) {
        add(out, path, Rule::min_items, fmt::format("must have at least {} items", *field.min_items), field.min_items);
      }
      if (field.max_items && n > *field.max_items) {
        add(out, path, Rule::max_items, fmt::format("must have at most {} items", *field.max_items), field.max_items);
        return;  // do not report each of a huge array's items
      }
      Field item{.name = field.name, .kind = field.items, .object = field.object};
      std::set<std::string> seen;
      for (std::size_t i = 0; i < arr.size(); ++i) {
        const std::string item_path = fmt::format("{}[{}]", path, i);
        const auto before = out.size();
        if (field.items == Kind::object && field.object) {
          if (!arr[i].is_object()) {
            add(out, item_path, Rule::is_object, "must be an object");
          } else {
            validate_object(arr[i], *field.object, Mode::create, item_path, out);
          }
        } else if (field.items != Kind::any) {
          validate_value(arr[i], item, mode, item_path, out);
        }
        if (field.unique_items && out.size() == before && !seen.insert(canonical_json(arr[i])).second) {
          add(out, item_path, Rule::invalid, "must not repeat an earlier item");
        }
      }
      return;
    }
    case Kind::any:
      return;
  }
}

void validate_object(const bj::value& value, const ObjectSchema& schema, Mode mode, const std::string& prefix,
                     InvalidParameters& out) {
  const auto& obj = value.get_object();
  for (const auto& [key, member] : obj) {
    const Field* field = schema.find(key);
    const std::string path = join_path(prefix, key);
    const bool not_writable = field && (field->read_only || (field->immutable && mode == Mode::update));
    if (!field || not_writable) {
      if (!schema.additional_properties || not_writable) {
        add(out, path, Rule::unknown_property, fmt::format("property {} should not exist", std::string_view(key)));
      }
      continue;
    }
    validate_value(member, *field, mode, path, out);
  }
  if (mode == Mode::create) {
    for (const auto& field : schema.fields) {
      if (field.required && !field.read_only && !obj.contains(field.name)) {
        add(out, join_path(prefix, field.name), Rule::required, "is required");
      }
    }
  }
}

constexpr std::array<std::string_view, 7> kReservedLabelPrefixes = {"kong",     "konnect", "mesh", "kic",
                                                                    "insomnia", "kuma",    "_"};

bool is_label_char(char c, bool edge) {
  const auto u = static_cast<unsigned char>(c);
  if (std::isalnum(u)) return true;
  return !edge && (c == '-' || c == '.' || c == '_');
}

}  // namespace

std::string label_key_problem(std::string_view key) {
  if (key.empty() || key.size() > 63) return "label keys must have 1 to 63 characters";
  for (auto prefix : kReservedLabelPrefixes) {
    if (key.substr(0, prefix.size()) == prefix) {
      return fmt::format("label keys must not start with [{}]", prefix);
    }
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    if (!is_label_char(key[i], i == 0 || i + 1 == key.size())) {
      return "label keys must start and end with a letter or digit and contain only letters, digits, '-', '.' and '_'";
    }
  }
  return {};
}

std::string label_value_problem(std::string_view value) {
  if (value.empty() || value.size() > 63) return "label values must have 1 to 63 characters";
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (!is_label_char(value[i], i == 0 || i + 1 == value.size())) {
      return "label values must start and end with a letter or digit and contain only letters, digits, '-', '.' and "
             "'_'";
    }
  }
  return {};
}

void validate_labels(const bj::value& labels, std::string_view prefix, Mode mode, std::int64_t max_labels,
                     InvalidParameters& out) {
  if (!labels.is_object()) {
    add(out, std::string(prefix), Rule::is_object, "must be an object");
    return;
  }
  const auto& obj = labels.get_object();
  if (static_cast<std::int64_t>(obj.size()) > max_labels) {
    add(out, std::string(prefix), Rule::max_items, fmt::format("must have at most {} labels", max_labels), max_labels);
    return;
  }
  for (const auto& [key, value] : obj) {
    const std::string path = join_path(prefix, key);
    if (auto problem = label_key_problem(key); !problem.empty()) {
      add(out, path, Rule::is_label, problem);
      continue;
    }
    if (value.is_null() && mode == Mode::update) continue;  // removes the label
    if (!value.is_string()) {
      add(out, path, Rule::is_label, "label values must be strings");
      continue;
    }
    if (auto problem = label_value_problem(value.get_string()); !problem.empty())
      add(out, path, Rule::is_label, problem);
  }
}

errors::InvalidParameters validate(const bj::value& body, const ObjectSchema& schema, Mode mode) {
  InvalidParameters out;
  if (!body.is_object()) {
    add(out, "body", Rule::is_object, "the request body must be a JSON object");
    return out;
  }
  validate_object(body, schema, mode, "", out);
  return out;
}

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < 36; ++i) {
    const char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

bool is_rfc3339(std::string_view s) {
  std::int64_t epoch_ms = 0;
  return util::parse_rfc3339(s, epoch_ms);
}

namespace detail {

void add(InvalidParameters& out, std::string field, Rule rule, std::string reason, std::optional<std::int64_t> limit) {
  out.push_back({.field = std::move(field), .rule = rule, .reason = std::move(reason), .limit = limit});
}

bool is_integral(const bj::value& v) {
  if (v.is_int64()) return true;
  if (v.is_uint64()) return v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX);
  if (v.is_double()) {
    const double d = v.get_double();
    return d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d));
  }
  return false;
}

}  // namespace detail

}  // namespace ok::schema
