// rate-limiting (Kong's kong/plugins/rate-limiting/schema.lua).

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

// A longer period may not allow fewer requests than a shorter one; sync_rate is for redis.
void periods_check(const bj::object& c, std::string_view prefix, errors::InvalidParameters& out) {
  const auto before = out.size();
  period_order_check(c, prefix, out);
  if (out.size() != before) return;
  const auto* policy = c.if_contains("policy");
  const auto* sync_rate = c.if_contains("sync_rate");
  if (!policy || !policy->is_string() || !sync_rate || !sync_rate->is_number()) return;
  const double rate = sync_rate->to_number<double>();
  if (policy->get_string() != "redis" && rate != -1) {
    out.push_back({.field = schema::field_path(prefix, "sync_rate"),
                   .rule = errors::Rule::invalid,
                   .reason = "sync_rate can only be used with the redis policy"});
  } else if (policy->get_string() == "redis" && rate != -1 && rate < 0.02) {
    out.push_back({.field = schema::field_path(prefix, "sync_rate"),
                   .rule = errors::Rule::invalid,
                   .reason = "sync_rate must be greater than 0.02, or -1 to disable"});
  }
}

}  // namespace

schema::Subschema rate_limiting() {
  return plugin(
      "rate-limiting",
      {.fields = {number("second").greater_than(0), number("minute").greater_than(0), number("hour").greater_than(0),
                  number("day").greater_than(0), number("month").greater_than(0), number("year").greater_than(0),
                  string("limit_by")
                      .def("consumer")
                      .one_of_values({"consumer", "credential", "ip", "service", "header", "path"}),
                  typedefs::header_name("header_name"), typedefs::path("path"),
                  string("policy").def("local").len(0).one_of_values({"local", "cluster", "redis"}),
                  boolean("fault_tolerant").req().def(true), typedefs::redis(),
                  boolean("hide_client_headers").req().def(false), number("error_code").def(429).greater_than(0),
                  string("error_message").def("API rate limit exceeded"), number("sync_rate").req().def(-1)},
       .checks = {schema::at_least_one_of({"second", "minute", "hour", "day", "month", "year"}),
                  schema::custom_check({"second", "minute", "hour", "day", "month", "year", "policy", "sync_rate"},
                                       periods_check),
                  schema::conditional("limit_by", {"header"}, "header_name", schema::EntityCheck::Then::set),
                  schema::conditional("limit_by", {"path"}, "path", schema::EntityCheck::Then::set),
                  schema::conditional("policy", {"redis"}, "redis.host", schema::EntityCheck::Then::set),
                  schema::conditional("policy", {"redis"}, "redis.port", schema::EntityCheck::Then::set),
                  schema::conditional("policy", {"redis"}, "redis.timeout", schema::EntityCheck::Then::set)}});
}

}  // namespace ok::api::config::plugins
