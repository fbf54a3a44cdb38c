// response-ratelimiting (Kong's kong/plugins/response-ratelimiting/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "api/config/plugins/rate_limits.hpp"
#include "schema/entity_validator.hpp"
#include "schema/typedefs.hpp"

#include <fmt/format.h>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

schema::FieldDef period(std::string name) { return number(std::move(name)).greater_than(0); }

}  // namespace

schema::Subschema response_ratelimiting() {
  using Then = schema::EntityCheck::Then;
  return plugin(
      "response-ratelimiting",
      {.fields = {string("header_name").def("x-kong-limit"),
                  string("limit_by").def("consumer").one_of_values({"consumer", "credential", "ip"}),
                  string("policy").def("local").one_of_values({"local", "cluster", "redis"}),
                  boolean("fault_tolerant").req().def(true), typedefs::redis(),
                  boolean("block_on_first_violation").req().def(false), boolean("hide_client_headers").req().def(false),
                  map("limits", string("name"),
                      record("limit", {.fields = {period("second"), period("minute"), period("hour"), period("day"),
                                                  period("month"), period("year")},
                                       .checks = {schema::at_least_one_of(rate_limit_periods()),
                                                  schema::custom_check(rate_limit_periods(), period_order_check)}}))
                      .req()
                      .len(1)},
       .checks = {schema::conditional("policy", {"redis"}, "redis.host", Then::set),
                  schema::conditional("policy", {"redis"}, "redis.port", Then::set),
                  schema::conditional("policy", {"redis"}, "redis.timeout", Then::set)}});
}

}  // namespace ok::api::config::plugins
