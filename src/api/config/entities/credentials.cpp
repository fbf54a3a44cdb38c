// Consumer credentials (Kong's kong/plugins/*/daos.lua, and Konnect's MTLSAuth): each belongs to
// one consumer and goes with it. Written under /consumers/{id}/<kind>; listed read-only at the
// top level.

#include "api/config/entities/entities.hpp"
#include "crypto/pem.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::entities {
namespace {

namespace bj = boost::json;
using namespace schema::fields;
namespace typedefs = schema::typedefs;

schema::FieldDef consumer() { return foreign("consumer", "consumers", "username").req().cascade(); }

ConfigEntity credential(std::string name, std::string display, std::string path, std::string param,
                        std::string json_name, std::vector<schema::FieldDef> own,
                        std::vector<std::vector<std::string>> unique_together = {}) {
  std::vector<schema::FieldDef> fields = {typedefs::id(), typedefs::created_at(), consumer()};
  fields.insert(fields.end(), own.begin(), own.end());
  fields.push_back(typedefs::tags());
  return ConfigEntity{
      .def = {.name = std::move(name),
              .display = std::move(display),
              .record = {.fields = std::move(fields)},
              .unique_together = std::move(unique_together)},
      .path = std::move(path),
      .param = std::move(param),
      .json_name = std::move(json_name),
      .family = "consumers",
      .top_level_writes = false,
  };
}

const std::vector<bj::value>& jwt_algorithms() {
  static const std::vector<bj::value> a = {"ES256",  "ES256K", "ES384",  "ES512",  "ESB256", "ESB320",
                                           "ESB384", "ESB512", "ESP256", "ESP384", "ESP512", "Ed25519",
                                           "Ed448",  "EdDSA",  "HS256",  "HS384",  "HS512",  "PS256",
                                           "PS384",  "PS512",  "RS256",  "RS384",  "RS512"};
  return a;
}

}  // namespace

ConfigEntity acls() {
  return credential("acls", "ACL", "acls", "ACLId", "acl", {string("group").req()}, {{"consumer", "group"}});
}

ConfigEntity basic_auth() {
  auto c = credential("basicauth_credentials", "Basic-auth credential", "basic-auths", "BasicAuthId", "basic-auth",
                      {string("username").req().unique_field(), string("password").req()});
  // Kong never stores the password itself: the stored value is hex(SHA1(password .. consumer id)),
  // which its basic-auth plugin compares against. A value already in that form is kept, so that
  // what a dump shows can be written back unchanged.
  c.complete = [](HookContext&, bj::object& entity, errors::InvalidParameters&) {
    auto* password = entity.if_contains("password");
    const auto* consumer_ref = entity.if_contains("consumer");
    if (!password || !password->is_string() || !consumer_ref || !consumer_ref->is_object()) return;
    const auto* consumer_id = consumer_ref->get_object().if_contains("id");
    if (!consumer_id || !consumer_id->is_string()) return;
    const std::string_view given = password->get_string();
    const bool hashed = given.size() == 40 && given.find_first_not_of("0123456789abcdef") == std::string_view::npos;
    if (!hashed) *password = crypto::sha1_hex(std::string(given) + std::string(consumer_id->get_string()));
  };
  return c;
}

ConfigEntity hmac_auth() {
  return credential(
      "hmacauth_credentials", "HMAC-auth credential", "hmac-auths", "HMACAuthId", "hmac-auth",
      {string("username").req().unique_field(), string("secret").auto_generated(schema::AutoValue::random_key)});
}

ConfigEntity jwt() {
  auto c = credential("jwt_secrets", "JWT credential", "jwts", "JWTId", "jwt",
                      {string("key").unique_field().auto_generated(schema::AutoValue::random_key),
                       string("secret").auto_generated(schema::AutoValue::random_key), string("rsa_public_key"),
                       string("algorithm").one_of_values(jwt_algorithms()).def("HS256")});
  // Asymmetric algorithms verify with the public key, which must then be one.
  c.def.record.checks.push_back(schema::custom_check(
      {"algorithm", "rsa_public_key"}, [](const bj::object& e, std::string_view, errors::InvalidParameters& out) {
        const auto* algorithm = e.if_contains("algorithm");
        if (!algorithm || !algorithm->is_string()) return;
        const std::string_view a = algorithm->get_string();
        if (a.starts_with("HS")) return;
        const auto* key = e.if_contains("rsa_public_key");
        if (!key || !key->is_string()) {
          out.push_back({.field = "rsa_public_key",
                         .rule = errors::Rule::required,
                         .reason = "is required when 'algorithm' is not an HS (HMAC) algorithm"});
          return;
        }
        if (auto problem = crypto::public_key_problem(key->get_string()); !problem.empty()) {
          out.push_back({.field = "rsa_public_key", .rule = errors::Rule::invalid, .reason = problem});
        }
      }));
  return c;
}

ConfigEntity key_auth() {
  auto c = credential("keyauth_credentials", "Key-auth credential", "key-auths", "KeyAuthId", "key-auth",
                      {string("key").unique_field().auto_generated(schema::AutoValue::random_key),
                       integer("ttl").between(0, 100000000)});
  return c;
}

ConfigEntity mtls_auth() {
  return credential("mtls_auth_credentials", "mTLS-auth credential", "mtls-auths", "MTLSAuthId", "mtls-auth",
                    {string("subject_name").req(), foreign("ca_certificate", "ca_certificates")});
}

}  // namespace ok::api::config::entities
