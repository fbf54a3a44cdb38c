// response-transformer (Kong's kong/plugins/response-transformer/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace bj = boost::json;
using schema::Problem;

bool is_header_name(std::string_view s) {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
}

// Kong's match "^[^:]+:.*$".
std::optional<Problem> colon_problem(std::string_view s) {
  const auto colon = s.find(':');
  if (colon != std::string_view::npos && colon > 0) return std::nullopt;
  return Problem{errors::Rule::matches_regex, fmt::format("'{}' must have the form 'name:value'", s)};
}

// "old:new" header renames, split as Kong's "^([^:]+):*(.-)$": both must be valid header names.
std::optional<Problem> rename_problem(std::string_view s) {
  if (auto problem = colon_problem(s)) return problem;
  const auto colon = s.find(':');
  const auto name = s.substr(0, colon);
  const auto value_at = s.find_first_not_of(':', colon);
  const auto value = value_at == std::string_view::npos ? std::string_view() : s.substr(value_at);
  for (const auto part : {name, value}) {
    if (!is_header_name(part))
      return Problem{errors::Rule::invalid, fmt::format("'{}' is not a valid header name", part)};
  }
  return std::nullopt;
}

schema::ValueCheck on_string(std::optional<Problem> (*check)(std::string_view)) {
  return [check](const bj::value& v) -> std::optional<Problem> {
    if (!v.is_string()) return std::nullopt;
    return check(v.get_string());
  };
}

schema::FieldDef strings(std::string name, schema::FieldDef element) {
  return array(std::move(name), std::move(element)).req().def(bj::array{});
}

schema::FieldDef plain_strings(std::string name) { return strings(std::move(name), string("value")); }
schema::FieldDef colon_strings(std::string name) {
  return strings(std::move(name), string("pair").check(on_string(colon_problem)));
}

schema::FieldDef pairs_record(std::string name) {
  return record(std::move(name),
                {.fields = {colon_strings("json"),
                            strings("json_types", string("json_type").one_of_values({"boolean", "number", "string"})),
                            colon_strings("headers")}});
}

}  // namespace

schema::Subschema response_transformer() {
  return plugin(
      "response-transformer",
      {.fields = {record("remove", {.fields = {plain_strings("json"), plain_strings("headers")}}),
                  record("rename", {.fields = {colon_strings("json"),
                                               strings("headers", string("header").check(on_string(rename_problem)))}}),
                  pairs_record("replace"), pairs_record("add"), pairs_record("append")}});
}

}  // namespace ok::api::config::plugins
