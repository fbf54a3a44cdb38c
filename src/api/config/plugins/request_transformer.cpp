// request-transformer (Kong's kong/plugins/request-transformer/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;
using schema::Problem;

// "name:value" split as Kong's "^([^:]+):*(.-)$": the name up to the first colon, then the
// value after the colons that follow it. No name (empty, or a leading colon): nullopt.
std::optional<std::pair<std::string_view, std::string_view>> split_pair(std::string_view s) {
  const auto colon = s.find(':');
  const auto name = s.substr(0, colon);
  if (name.empty()) return std::nullopt;
  if (colon == std::string_view::npos) return std::pair{name, std::string_view()};
  const auto value_at = s.find_first_not_of(':', colon);
  return std::pair{name, value_at == std::string_view::npos ? std::string_view() : s.substr(value_at)};
}

bool is_header_name(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

std::optional<Problem> not_a_header(std::string_view s) {
  return Problem{errors::Rule::invalid, fmt::format("'{}' is not a valid header name", s)};
}

// Kong's match "^[^:]+:.*$".
std::optional<Problem> colon_problem(std::string_view s) {
  const auto colon = s.find(':');
  if (colon != std::string_view::npos && colon > 0) return std::nullopt;
  return Problem{errors::Rule::matches_regex, fmt::format("'{}' must have the form 'name:value'", s)};
}

// A header given by name (or "name:value"): the name must be a valid header name.
std::optional<Problem> header_problem(std::string_view s, bool value_is_header) {
  const auto pair = split_pair(s);
  if (!pair) return not_a_header("");
  if (!is_header_name(pair->first)) return not_a_header(pair->first);
  if (value_is_header && !is_header_name(pair->second)) return not_a_header(pair->second);
  return std::nullopt;
}

// "key:value" with a non-empty value. Kong also compiles the value as a template; the Lua
// expressions a template may hold cannot be compiled here, so any value is accepted.
std::optional<Problem> key_value_problem(std::string_view s) {
  const auto pair = split_pair(s);
  if (!pair || pair->second.empty()) {
    return Problem{errors::Rule::invalid,
                   fmt::format("'{}' has no value: use the form 'key:value'", pair ? pair->first : s)};
  }
  return std::nullopt;
}

schema::ValueCheck on_string(std::function<std::optional<Problem>(std::string_view)> check) {
  return [check = std::move(check)](const bj::value& v) -> std::optional<Problem> {
    if (!v.is_string()) return std::nullopt;
    return check(v.get_string());
  };
}

schema::FieldDef strings(std::string name, schema::FieldDef element) {
  return array(std::move(name), std::move(element)).req().def(bj::array{});
}

// remove: names only.
schema::FieldDef plain_strings(std::string name) { return strings(std::move(name), string("value")); }
schema::FieldDef header_names(std::string name) {
  return strings(std::move(name),
                 string("header").check(on_string([](std::string_view s) { return header_problem(s, false); })));
}
// rename, replace, add, append: "key:value" pairs.
schema::FieldDef key_values(std::string name) {
  return strings(std::move(name), string("pair").check(on_string(key_value_problem)));
}
schema::FieldDef header_values(std::string name) {
  return strings(std::move(name),
                 string("header").check(on_string(colon_problem)).check(on_string([](std::string_view s) {
                   return header_problem(s, false);
                 })));
}
schema::FieldDef header_renames(std::string name) {
  return strings(std::move(name),
                 string("header").check(on_string(colon_problem)).check(on_string([](std::string_view s) {
                   return header_problem(s, true);
                 })));
}

schema::FieldDef pairs_record(std::string name) {
  return record(std::move(name), {.fields = {key_values("body"), header_values("headers"), key_values("querystring")}});
}

}  // namespace

schema::Subschema request_transformer() {
  return plugin(
      "request-transformer",
      {.fields = {typedefs::http_method("http_method"),
                  record("remove",
                         {.fields = {plain_strings("body"), header_names("headers"), plain_strings("querystring")}}),
                  record("rename",
                         {.fields = {key_values("body"), header_renames("headers"), key_values("querystring")}}),
                  record("replace", {.fields = {key_values("body"), header_values("headers"), key_values("querystring"),
                                                string("uri")}}),
                  pairs_record("add"), pairs_record("append")}},
      {.protocols = typedefs::protocols()});
}

}  // namespace ok::api::config::plugins
