// request-termination (Kong's kong/plugins/request-termination/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/entity_validator.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

// message excludes content_type and body; content_type needs a body; echo excludes both.
// Like Kong, only the first problem found is reported.
void response_check(const bj::object& c, std::string_view prefix, errors::InvalidParameters& out) {
  const bool message = schema::is_set(c.if_contains("message"));
  const bool content_type = schema::is_set(c.if_contains("content_type"));
  const bool body = schema::is_set(c.if_contains("body"));
  const auto* echo = c.if_contains("echo");
  auto fail = [&](std::string_view field, std::string reason) {
    out.push_back(
        {.field = schema::field_path(prefix, field), .rule = errors::Rule::invalid, .reason = std::move(reason)});
  };
  if (message && (content_type || body)) {
    fail("message", "message may not be combined with content_type or body");
  } else if (content_type && !body) {
    fail("content_type", "content_type may only be set together with a body");
  } else if (echo && echo->is_bool() && echo->get_bool() && (content_type || body)) {
    fail("echo", "echo may not be combined with content_type or body");
  }
}

}  // namespace

schema::Subschema request_termination() {
  return plugin(
      "request-termination",
      {.fields = {integer("status_code").req().def(503).between(100, 599), string("message"), string("content_type"),
                  string("body"), boolean("echo").req().def(false), typedefs::header_name("trigger")},
       .checks = {schema::custom_check({"message", "content_type", "body", "echo"}, response_check)}});
}

}  // namespace ok::api::config::plugins
