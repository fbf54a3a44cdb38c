// cors (Kong's kong/plugins/cors/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

#include <fmt/format.h>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace bj = boost::json;

// An origin is "*" or a pattern that compiles as a PCRE regex.
std::optional<schema::Problem> origin_problem(const bj::value& v) {
  if (!v.is_string() || v.get_string() == "*") return std::nullopt;
  const std::string_view pattern = v.get_string();
  if (!schema::typedefs::regex_error(pattern)) return std::nullopt;
  return schema::Problem{errors::Rule::invalid, fmt::format("'{}' is neither '*' nor a valid regex", pattern)};
}

std::vector<bj::value> methods() {
  return {"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS", "TRACE", "CONNECT"};
}

}  // namespace

schema::Subschema cors() {
  const auto all_methods = methods();
  return plugin("cors",
                {.fields = {array("origins", string("origin").check(origin_problem)),
                            array("headers", string("header")), array("exposed_headers", string("header")),
                            array("methods", string("method").one_of_values(all_methods))
                                .def(bj::array(all_methods.begin(), all_methods.end())),
                            number("max_age"), boolean("credentials").req().def(false),
                            boolean("private_network").req().def(false), boolean("preflight_continue").req().def(false),
                            boolean("allow_origin_absent").req().def(true)}},
                {.no_consumer = true});
}

}  // namespace ok::api::config::plugins
