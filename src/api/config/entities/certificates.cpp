// Certificates with their SNIs, and CA certificates (Kong's certificates.lua, snis.lua,
// ca_certificates.lua, and the certificates DAO's handling of `snis`). PEM is parsed with
// OpenSSL; key material is never echoed in a problem.

#include "api/config/entities/entities.hpp"
#include "crypto/pem.hpp"
#include "schema/entity_validator.hpp"
#include "schema/typedefs.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <set>

namespace ok::api::config::entities {
namespace {

namespace bj = boost::json;
using namespace schema::fields;
namespace typedefs = schema::typedefs;
using errors::Rule;

std::string text_of(const bj::object& e, const char* field) {
  const auto* v = e.if_contains(field);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

// The key must be the certificate's, for each pair; the alternative pair must use another key
// type (RSA beside ECDSA). Vault references cannot be checked here.
void certificate_pairs_check(const bj::object& e, std::string_view, errors::InvalidParameters& out) {
  auto pair_problem = [&](const char* cert, const char* key, const char* what) {
    if (!e.if_contains(cert) || !e.if_contains(key)) return;
    if (schema::is_vault_reference(e.if_contains(cert)) || schema::is_vault_reference(e.if_contains(key))) return;
    const auto c = text_of(e, cert);
    const auto k = text_of(e, key);
    if (c.empty() || k.empty()) return;
    if (!crypto::certificate_matches_key(c, k)) {
      out.push_back({.field = key, .rule = Rule::invalid, .reason = what});
    }
  };
  pair_problem("cert", "key", "certificate does not match key");
  pair_problem("cert_alt", "key_alt", "alternative certificate does not match key");
  const auto cert = text_of(e, "cert");
  const auto alt = text_of(e, "cert_alt");
  if (!cert.empty() && !alt.empty() && !schema::is_vault_reference(e.if_contains("cert")) &&
      !schema::is_vault_reference(e.if_contains("cert_alt"))) {
    std::string error;
    const auto a = crypto::inspect_certificate(cert, error);
    const auto b = crypto::inspect_certificate(alt, error);
    if (a && b && a->key_type == b->key_type) {
      out.push_back({.field = "cert_alt",
                     .rule = Rule::invalid,
                     .reason = "certificate and alternative certificate need to have different type (e.g. RSA and "
                               "ECDSA), the provided certificates were both of the same type"});
    }
  }
}

// An SNI row for `name` owned by the certificate.
store::EntityRow sni_row(const std::string& id, const std::string& name, const std::string& certificate_id,
                         std::int64_t now) {
  bj::object body{{"id", id},
                  {"name", name},
                  {"certificate", bj::object{{"id", certificate_id}}},
                  {"created_at", now},
                  {"updated_at", now}};
  return store::EntityRow{.type = "snis",
                          .id = id,
                          .body = bj::serialize(body),
                          .unique_keys = {{"name", name}},
                          .references = {{"certificate", "certificates", certificate_id, store::OnDelete::cascade}}};
}

// `snis` in a certificate's body (when present) makes its SNIs exactly that list: names it
// lacks are created, SNIs of the certificate not in it are deleted.
void put_certificate_snis(store::EntityTransaction& tx, const bj::object& entity, const bj::object& input) {
  const auto* given = input.if_contains("snis");
  if (!given || !given->is_array()) return;
  const std::string certificate_id(entity.at("id").as_string());
  std::set<std::string> wanted;
  for (const auto& n : given->get_array()) {
    if (n.is_string()) wanted.emplace(n.get_string());
  }
  for (const auto& current : tx.referencing("certificates", certificate_id, "snis", "certificate")) {
    const auto body = bj::parse(current.body);
    const std::string name(body.at("name").as_string());
    if (!wanted.erase(name)) tx.remove("snis", current.id, false);
  }
  const auto now = util::now_ms() / 1000;
  for (const auto& name : wanted) tx.put(sni_row(util::new_uuid(), name, certificate_id, now));
}

void add_snis(store::EntityStore& store, const store::Scope& scope, bj::object& certificate) {
  const auto* id = certificate.if_contains("id");
  if (!id || !id->is_string()) return;
  std::vector<std::string> names;
  for (const auto& sni :
       store.referencing(scope, "certificates", std::string(id->get_string()), "snis", "certificate")) {
    names.emplace_back(bj::parse(sni.body).at("name").as_string());
  }
  std::sort(names.begin(), names.end());
  bj::array out;
  for (auto& n : names) out.emplace_back(n);
  certificate["snis"] = std::move(out);
}

}  // namespace

ConfigEntity certificates() {
  auto c = ConfigEntity{
      .def = {.name = "certificates",
              .display = "Certificate",
              .record = {.fields = {typedefs::id(), typedefs::created_at(), typedefs::updated_at(),
                                    typedefs::certificate("cert").req(), typedefs::key("key").req(),
                                    typedefs::certificate("cert_alt"), typedefs::key("key_alt"), typedefs::tags(),
                                    // Input only: the certificate's SNIs (see put_certificate_snis).
                                    set("snis", typedefs::wildcard_host("sni"))},
                         .checks = {schema::mutually_required({"cert_alt", "key_alt"}),
                                    schema::custom_check({"cert", "key", "cert_alt", "key_alt"},
                                                         certificate_pairs_check)}}},
      .path = "certificates",
      .param = "CertificateId",
      .json_name = "certificate",
      .family = "certificates",
      .transient = {"snis"},
  };
  c.after_put = put_certificate_snis;
  c.decorate = add_snis;
  return c;
}

ConfigEntity snis() {
  return ConfigEntity{
      .def = {.name = "snis",
              .display = "SNI",
              .endpoint_key = "name",
              .record = {.fields = {typedefs::id(), typedefs::created_at(), typedefs::updated_at(),
                                    typedefs::wildcard_host("name").req().unique_field(), typedefs::tags(),
                                    foreign("certificate", "certificates").req().cascade()}}},
      .path = "snis",
      .param = "SNIId",
      .json_name = "sni",
      .family = "snis",
  };
}

ConfigEntity ca_certificates() {
  auto c = ConfigEntity{
      .def = {.name = "ca_certificates",
              .display = "CA certificate",
              .record = {.fields = {typedefs::id(), typedefs::created_at(), typedefs::updated_at(),
                                    typedefs::certificate("cert").req(), string("cert_digest").unique_field(),
                                    typedefs::tags()}}},
      .path = "ca_certificates",
      .param = "CACertificateId",
      .json_name = "ca_certificate",
      .family = "certificates",
  };
  // One CA certificate, valid now, with CA:TRUE; its digest is computed, whatever was sent.
  c.complete = [](HookContext&, bj::object& entity, errors::InvalidParameters& problems) {
    const auto* cert = entity.if_contains("cert");
    if (!cert || !cert->is_string() || schema::is_vault_reference(cert)) return;
    std::string error;
    const auto info = crypto::inspect_certificate(cert->get_string(), error);
    if (!info) return;  // reported by the field's own check
    if (info->pem_blocks > 1) {
      problems.push_back(
          {.field = "cert", .rule = Rule::invalid, .reason = "please submit only one certificate at a time"});
    } else if (info->expired) {
      problems.push_back(
          {.field = "cert", .rule = Rule::invalid, .reason = "certificate expired, \"Not After\" time is in the past"});
    } else if (!info->is_ca) {
      problems.push_back({.field = "cert",
                          .rule = Rule::invalid,
                          .reason = "certificate does not appear to be a CA because it is missing the \"CA\" basic "
                                    "constraint"});
    }
    entity["cert_digest"] = info->sha256_hex;
  };
  return c;
}

}  // namespace ok::api::config::entities
