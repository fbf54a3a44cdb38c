// jwt (Kong's kong/plugins/jwt/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/entity_validator.hpp"

#include <algorithm>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace bj = boost::json;

// Kong's conditional: a positive maximum_expiration needs "exp" among the claims to verify
// (a null claims_to_verify passes, as in Kong).
void expiration_check(const bj::object& c, std::string_view prefix, errors::InvalidParameters& out) {
  const auto* max = c.if_contains("maximum_expiration");
  const auto* claims = c.if_contains("claims_to_verify");
  if (!max || !max->is_number() || max->to_number<double>() <= 0 || !claims || !claims->is_array()) return;
  const auto& list = claims->get_array();
  if (std::find(list.begin(), list.end(), bj::value("exp")) != list.end()) return;
  out.push_back({.field = schema::field_path(prefix, "claims_to_verify"),
                 .rule = errors::Rule::invalid,
                 .reason = "must contain 'exp' when 'maximum_expiration' is greater than 0"});
}

}  // namespace

schema::Subschema jwt() {
  return plugin(
      "jwt",
      {.fields = {set("uri_param_names", string("name")).def(bj::array{"jwt"}),
                  set("cookie_names", string("name")).def(bj::array{}), string("key_claim_name").def("iss"),
                  boolean("secret_is_base64").req().def(false),
                  set("claims_to_verify", string("claim").one_of_values({"exp", "nbf"})), string("anonymous"),
                  boolean("run_on_preflight").req().def(true), number("maximum_expiration").def(0).between(0, 31536000),
                  set("header_names", string("name")).def(bj::array{"authorization"}), string("realm").req(false)},
       .checks = {schema::custom_check({"maximum_expiration", "claims_to_verify"}, expiration_check)}},
      {.no_consumer = true});
}

}  // namespace ok::api::config::plugins
