// Keys, key sets and vaults (Kong's keys.lua, key_sets.lua, vaults.lua).

#include "api/config/entities/entities.hpp"
#include "crypto/pem.hpp"
#include "schema/entity_validator.hpp"
#include "schema/typedefs.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cctype>

namespace ok::api::config::entities {
namespace {

namespace bj = boost::json;
using namespace schema::fields;
namespace typedefs = schema::typedefs;
using errors::Rule;

// A JWK must be a key with the kid of its entity; PEM keys must be readable, and halves of one
// pair when both are given.
void key_material_check(const bj::object& e, std::string_view, errors::InvalidParameters& out) {
  const auto* jwk = e.if_contains("jwk");
  if (jwk && jwk->is_string() && !schema::is_vault_reference(jwk)) {
    boost::system::error_code ec;
    const auto parsed = bj::parse(jwk->get_string(), ec);
    if (ec || !parsed.is_object()) {
      out.push_back({.field = "jwk", .rule = Rule::invalid, .reason = "could not json decode jwk string"});
      return;
    }
    const auto* kid = e.if_contains("kid");
    const auto* jwk_kid = parsed.get_object().if_contains("kid");
    if (!kid || !jwk_kid || *kid != *jwk_kid) {
      out.push_back({.field = "jwk", .rule = Rule::invalid, .reason = "kid in jwk.kid must be equal to keys.kid"});
      return;
    }
    if (auto problem = crypto::jwk_problem(jwk->get_string()); !problem.empty()) {
      out.push_back({.field = "jwk", .rule = Rule::invalid, .reason = problem});
    }
  }
  const auto* pem = e.if_contains("pem");
  if (pem && pem->is_object()) {
    const auto& p = pem->get_object();
    const auto* priv = p.if_contains("private_key");
    const auto* pub = p.if_contains("public_key");
    const bool has_priv = priv && priv->is_string();
    const bool has_pub = pub && pub->is_string();
    if (!has_priv && !has_pub) {
      out.push_back({.field = "pem",
                     .rule = Rule::required,
                     .reason = "need to supply a PEM formatted public and/or private key."});
      return;
    }
    if (has_priv && !schema::is_vault_reference(priv)) {
      if (auto problem = crypto::private_key_problem(priv->get_string()); !problem.empty()) {
        out.push_back({.field = "pem.private_key", .rule = Rule::invalid, .reason = problem});
        return;
      }
    }
    if (has_pub && !schema::is_vault_reference(pub)) {
      if (auto problem = crypto::public_key_problem(pub->get_string()); !problem.empty()) {
        out.push_back({.field = "pem.public_key", .rule = Rule::invalid, .reason = problem});
        return;
      }
    }
    if (has_priv && has_pub && !schema::is_vault_reference(priv) && !schema::is_vault_reference(pub) &&
        !crypto::keys_match(pub->get_string(), priv->get_string())) {
      out.push_back({.field = "pem", .rule = Rule::invalid, .reason = "public key does not match private key"});
    }
  }
}

const std::vector<std::string>& vault_names() {
  static const std::vector<std::string> names = {"env", "aws", "gcp", "hcv", "azure", "conjur", "konnect"};
  return names;
}

std::optional<schema::Problem> prefix_problem(std::string_view p) {
  const bool shape =
      p.size() >= 2 && std::islower(static_cast<unsigned char>(p.front())) &&
      std::isalnum(static_cast<unsigned char>(p.back())) && !std::isupper(static_cast<unsigned char>(p.back())) &&
      std::all_of(p.begin(), p.end(), [](unsigned char c) { return std::islower(c) || std::isdigit(c) || c == '-'; });
  if (!shape) {
    return schema::Problem{Rule::matches_regex,
                           "must start with a lower-case letter, contain only lower-case letters, digits and '-', and "
                           "end with a letter or digit"};
  }
  if (std::find(vault_names().begin(), vault_names().end(), p) != vault_names().end()) {
    return schema::Problem{Rule::invalid, fmt::format("must not be the name of a vault implementation ('{}')", p)};
  }
  return std::nullopt;
}

const schema::Subschema* vault_subschema(std::string_view name) {
  static const std::vector<schema::Subschema> all = [] {
    std::vector<schema::Subschema> out;
    // The environment vault: variables named <prefix><secret>, optionally base64 encoded.
    out.push_back(
        {.name = "env",
         .fields = {record("config",
                           {.fields = {string("prefix").check([](const bj::value& v) -> std::optional<schema::Problem> {
                                         if (!v.is_string()) return std::nullopt;
                                         const std::string_view s = v.get_string();
                                         const bool ok =
                                             !s.empty() && !std::isdigit(static_cast<unsigned char>(s.front())) &&
                                             std::all_of(s.begin(), s.end(),
                                                         [](unsigned char c) { return std::isalnum(c) || c == '_'; });
                                         if (ok) return std::nullopt;
                                         return schema::Problem{
                                             Rule::matches_regex,
                                             "must be an environment variable prefix ([A-Za-z_][A-Za-z0-9_]*)"};
                                       }),
                                       boolean("base64_decode").def(false)},
                            .keep_nulls = true})}});
    // Cloud vaults: their configuration is the data plane's to interpret.
    for (const auto& vault : vault_names()) {
      if (vault != "env") out.push_back({.name = vault, .fields = {json("config")}});
    }
    return out;
  }();
  for (const auto& s : all) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace

ConfigEntity key_sets() {
  return ConfigEntity{
      .def = {.name = "key_sets",
              .display = "Key set",
              .endpoint_key = "name",
              .record = {.fields = {typedefs::id(), string("name").unique_field(), typedefs::tags(),
                                    typedefs::created_at(), typedefs::updated_at()}}},
      .path = "key-sets",
      .param = "KeySetId",
      .json_name = "key-set",
      .family = "keys",
  };
}

ConfigEntity keys() {
  return ConfigEntity{
      .def = {.name = "keys",
              .display = "Key",
              .endpoint_key = "name",
              .record = {.fields = {typedefs::id(), foreign("set", "key_sets", "name").cascade(),
                                    string("name").unique_field(), string("kid").req(),
                                    string("jwk").vault_referenceable(),
                                    record("pem", {.fields = {string("private_key").vault_referenceable(),
                                                              string("public_key").vault_referenceable()}})
                                        .req(false),
                                    string("x5t"), typedefs::tags(), typedefs::created_at(), typedefs::updated_at()},
                         .checks = {schema::only_one_of({"jwk", "pem"}),
                                    schema::custom_check({"jwk", "pem", "kid"}, key_material_check)}},
              .unique_together = {{"kid", "set"}}},
      .path = "keys",
      .param = "KeyId",
      .json_name = "key",
      .family = "keys",
  };
}

ConfigEntity vaults() {
  return ConfigEntity{
      .def = {.name = "vaults",
              .display = "Vault",
              .endpoint_key = "prefix",
              .record = {.fields = {typedefs::id(), string("prefix").req().unique_field().check([](const bj::value& v) {
                                      return v.is_string() ? prefix_problem(v.get_string()) : std::nullopt;
                                    }),
                                    string("name").req(), string("description"), json("config"), typedefs::created_at(),
                                    typedefs::updated_at(), typedefs::tags()}},
              .subschema_key = "name",
              .subschema = vault_subschema,
              .subschema_names = [] { return vault_names(); }},
      .path = "vaults",
      .param = "VaultId",
      .json_name = "vault",
      .family = "vaults",
  };
}

}  // namespace ok::api::config::entities
