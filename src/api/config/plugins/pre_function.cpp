// pre-function (Kong's kong/plugins/pre-function/_schema.lua, shared with post-function).

#include "api/config/plugins/functions_schema.hpp"
#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

// Lua chunks run in one phase, in order. Kong compiles each one to reject syntax errors; without
// a Lua interpreter any non-empty string is accepted.
schema::FieldDef phase_functions(std::string name) {
  return array(std::move(name), string("function")).req().def(bj::array{});
}

}  // namespace

schema::Subschema functions_plugin(std::string name) {
  auto sub =
      plugin(std::move(name),
             {.fields = {phase_functions("certificate"), phase_functions("rewrite"), phase_functions("access"),
                         phase_functions("header_filter"), phase_functions("body_filter"), phase_functions("log")}},
             {.no_consumer = true, .protocols = typedefs::protocols()});
  sub.checks.push_back(schema::at_least_one_of({"config.certificate", "config.rewrite", "config.access",
                                                "config.header_filter", "config.body_filter", "config.log"}));
  return sub;
}

schema::Subschema pre_function() { return functions_plugin("pre-function"); }

}  // namespace ok::api::config::plugins
