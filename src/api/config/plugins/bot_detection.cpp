// bot-detection (Kong's kong/plugins/bot-detection/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

#include <fmt/format.h>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace bj = boost::json;

// Kong's `is_regex`: the pattern must compile as a PCRE regex.
std::optional<schema::Problem> regex_problem(const bj::value& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string_view pattern = v.get_string();
  if (!schema::typedefs::regex_error(pattern)) return std::nullopt;
  return schema::Problem{errors::Rule::invalid, fmt::format("'{}' is not a valid regex", pattern)};
}

}  // namespace

schema::Subschema bot_detection() {
  return plugin("bot-detection",
                {.fields = {array("allow", string("regex").check(regex_problem)).def(bj::array{}),
                            array("deny", string("regex").check(regex_problem)).def(bj::array{})}},
                {.no_consumer = true});
}

}  // namespace ok::api::config::plugins
