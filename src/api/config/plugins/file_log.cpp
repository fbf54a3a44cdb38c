// file-log (Kong's kong/plugins/file-log/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

#include <cctype>
#include <string_view>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;

// Kong's pattern ^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$: at least two characters, none of * & % \ `,
// and no white space at either end.
std::optional<schema::Problem> filename_problem(const boost::json::value& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string_view s = v.get_string();
  auto forbidden = [](unsigned char c) {
    return std::string_view("*&%\\`").find(static_cast<char>(c)) != std::string_view::npos;
  };
  auto bad_end = [&](unsigned char c) { return forbidden(c) || std::isspace(c); };
  bool ok = s.size() >= 2 && !bad_end(s.front()) && !bad_end(s.back());
  for (std::size_t i = 1; ok && i + 1 < s.size(); ++i) ok = !forbidden(s[i]);
  if (ok) return std::nullopt;
  return schema::Problem{errors::Rule::matches_regex, "not a valid filename"};
}

}  // namespace

schema::Subschema file_log() {
  return plugin("file-log",
                {.fields = {string("path").req().check(filename_problem), boolean("reopen").req().def(false),
                            typedefs::lua_code("custom_fields_by_lua")}},
                {.protocols = typedefs::protocols()});
}

}  // namespace ok::api::config::plugins
