// Upstreams and their targets (Kong's upstreams.lua and targets.lua): load-balanced groups of
// backends, with health checks.

#include "api/config/entities/entities.hpp"
#include "schema/typedefs.hpp"
#include "util/hosts.hpp"

#include <fmt/format.h>

namespace ok::api::config::entities {
namespace {

namespace bj = boost::json;
using namespace schema::fields;
namespace typedefs = schema::typedefs;
using errors::Rule;
using schema::EntityCheck;
using schema::FieldDef;
using schema::RecordDef;

std::optional<schema::Problem> upstream_name_problem(std::string_view name) {
  const auto parsed = util::parse_address(name);
  if (!parsed.address)
    return schema::Problem{Rule::invalid, fmt::format("Invalid name ('{}'); must be a valid hostname", name)};
  if (parsed.address->type != util::HostType::name) {
    return schema::Problem{Rule::invalid, fmt::format("Invalid name ('{}'); no ip addresses allowed", name)};
  }
  if (parsed.address->port)
    return schema::Problem{Rule::invalid, fmt::format("Invalid name ('{}'); no port allowed", name)};
  return std::nullopt;
}

FieldDef hash_on(std::string name) {
  return string(std::move(name))
      .def("none")
      .one_of_values({"none", "consumer", "ip", "header", "cookie", "path", "query_arg", "uri_capture"});
}

FieldDef http_statuses(bj::array defaults) {
  return array("http_statuses", integer("status").between(100, 999)).def(std::move(defaults));
}
FieldDef seconds(std::string name, double def) { return number(std::move(name)).between(0, 65535).def(def); }
FieldDef one_byte(std::string name) { return integer(std::move(name)).between(0, 255).def(0); }
FieldDef check_type() { return string("type").one_of_values({"tcp", "http", "https", "grpc", "grpcs"}).def("http"); }

FieldDef healthchecks() {
  RecordDef active_healthy{.fields = {seconds("interval", 0), http_statuses({200, 302}), one_byte("successes")}};
  RecordDef active_unhealthy{.fields = {seconds("interval", 0), http_statuses({429, 404, 500, 501, 502, 503, 504, 505}),
                                        one_byte("tcp_failures"), one_byte("timeouts"), one_byte("http_failures")}};
  RecordDef active{.fields = {check_type(), seconds("timeout", 1),
                              integer("concurrency").between(1, 2147483648.0).def(10),
                              typedefs::path("http_path").def("/"), typedefs::sni("https_sni"),
                              boolean("https_verify_certificate").def(true).req(), typedefs::headers(),
                              record("healthy", active_healthy), record("unhealthy", active_unhealthy)}};
  RecordDef passive_healthy{.fields = {http_statuses({200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302,
                                                      303, 304, 305, 306, 307, 308}),
                                       one_byte("successes")}};
  RecordDef passive_unhealthy{.fields = {http_statuses({429, 500, 503}), one_byte("tcp_failures"), one_byte("timeouts"),
                                         one_byte("http_failures")}};
  RecordDef passive{
      .fields = {check_type(), record("healthy", passive_healthy), record("unhealthy", passive_unhealthy)}};
  return record("healthchecks", RecordDef{.fields = {record("active", active), record("passive", passive),
                                                     number("threshold").between(0, 100).def(0)}});
}

// Kong's hashing rules: what hash_on and hash_fallback need, and which pairs make no sense.
void hashing_check(const bj::object& u, std::string_view, errors::InvalidParameters& out) {
  auto text = [&](const char* f) -> std::string {
    const auto* v = u.if_contains(f);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  auto set = [&](const char* f) { return !text(f).empty(); };
  const auto on = text("hash_on");
  const auto fallback = text("hash_fallback");
  auto require = [&](const char* field, const char* when_field, const std::string& when) {
    if (!set(field)) {
      out.push_back({.field = field,
                     .rule = Rule::required,
                     .reason = fmt::format("is required when '{}' is '{}'", when_field, when)});
    }
  };
  if (on == "header") require("hash_on_header", "hash_on", on);
  if (on == "cookie") require("hash_on_cookie", "hash_on", on);
  if (on == "query_arg") require("hash_on_query_arg", "hash_on", on);
  if (on == "uri_capture") require("hash_on_uri_capture", "hash_on", on);
  if (fallback == "header") require("hash_fallback_header", "hash_fallback", fallback);
  if (fallback == "query_arg") require("hash_fallback_query_arg", "hash_fallback", fallback);
  if (fallback == "uri_capture") require("hash_fallback_uri_capture", "hash_fallback", fallback);
  if ((on == "none" || on == "cookie") && fallback != "none" && !fallback.empty()) {
    out.push_back({.field = "hash_fallback",
                   .rule = Rule::invalid,
                   .reason = fmt::format("must be 'none' when 'hash_on' is '{}'", on)});
  } else if (!on.empty() && on == fallback && (on == "consumer" || on == "ip" || on == "path")) {
    out.push_back({.field = "hash_fallback",
                   .rule = Rule::invalid,
                   .reason = fmt::format("must not be '{}' when 'hash_on' is '{}'", fallback, on)});
  }
  for (auto [a, b] :
       {std::pair{"hash_on_header", "hash_fallback_header"}, std::pair{"hash_on_query_arg", "hash_fallback_query_arg"},
        std::pair{"hash_on_uri_capture", "hash_fallback_uri_capture"}}) {
    if (set(a) && text(a) == text(b)) {
      out.push_back({.field = b,
                     .rule = Rule::invalid,
                     .reason = fmt::format("values of these fields must be distinct: '{}', '{}'", a, b)});
    }
  }
}

// The target's DAO adds port 8000 when none is given and writes IPv6 in brackets, so that one
// backend has one spelling (and the (upstream, target) key means what it says).
std::string normalize_target(std::string_view text) {
  const auto parsed = util::parse_address(text);
  if (!parsed.address) return std::string(text);
  return util::format_host_port(*parsed.address, 8000);
}

}  // namespace

ConfigEntity upstreams() {
  return ConfigEntity{
      .def = {.name = "upstreams",
              .display = "Upstream",
              .endpoint_key = "name",
              .record =
                  {
                      .fields =
                          {
                              typedefs::id(),
                              typedefs::created_at(),
                              typedefs::updated_at(),
                              string("name").req().unique_field().check([](const bj::value& v) {
                                return v.is_string() ? upstream_name_problem(v.get_string()) : std::nullopt;
                              }),
                              string("algorithm")
                                  .def("round-robin")
                                  .one_of_values({"consistent-hashing", "least-connections", "round-robin", "latency",
                                                  "sticky-sessions"}),
                              hash_on("hash_on"),
                              hash_on("hash_fallback"),
                              typedefs::header_name("hash_on_header"),
                              typedefs::header_name("hash_fallback_header"),
                              typedefs::cookie_name("hash_on_cookie"),
                              typedefs::path("hash_on_cookie_path").def("/"),
                              string("hash_on_query_arg"),
                              string("hash_fallback_query_arg"),
                              string("hash_on_uri_capture"),
                              string("hash_fallback_uri_capture"),
                              integer("slots").def(10000).between(10, 65536),
                              healthchecks(),
                              typedefs::tags(),
                              typedefs::host_with_optional_port("host_header"),
                              foreign("client_certificate", "certificates"),
                              boolean("use_srv_name").def(false),
                              typedefs::cookie_name("sticky_sessions_cookie"),
                              typedefs::path("sticky_sessions_cookie_path").def("/"),
                          },
                      .checks = {schema::custom_check(
                                     {"hash_on", "hash_fallback", "hash_on_header", "hash_fallback_header",
                                      "hash_on_cookie", "hash_on_query_arg", "hash_fallback_query_arg",
                                      "hash_on_uri_capture", "hash_fallback_uri_capture"},
                                     hashing_check),
                                 schema::conditional("algorithm", {"sticky-sessions"}, "sticky_sessions_cookie",
                                                     EntityCheck::Then::set)},
                  }},
      .path = "upstreams",
      .param = "UpstreamId",
      .json_name = "upstream",
      .family = "upstreams",
  };
}

ConfigEntity targets() {
  auto c = ConfigEntity{
      .def = {.name = "targets",
              .display = "Target",
              .endpoint_key = "target",
              .record = {.fields = {typedefs::id(), typedefs::created_at_ms(), typedefs::updated_at_ms(),
                                    foreign("upstream", "upstreams", "name").req().cascade(),
                                    string("target").req().check(
                                        [](const bj::value& v) -> std::optional<schema::Problem> {
                                          if (!v.is_string() || util::parse_address(v.get_string()).address)
                                            return std::nullopt;
                                          return schema::Problem{
                                              Rule::invalid,
                                              fmt::format("Invalid target ('{}'); not a valid hostname or ip address",
                                                          std::string_view(v.get_string()))};
                                        }),
                                    integer("weight").def(100).between(0, 65535), boolean("failover").def(false),
                                    typedefs::tags()}},
              .unique_together = {{"upstream", "target"}}},
      .path = "targets",
      .param = "TargetId",
      .json_name = "target",
      .family = "upstreams",
      .top_level_writes = false,
      .top_level_item = false,
      .key_scope = "upstream",
  };
  c.normalize_key = normalize_target;
  c.complete = [](HookContext&, bj::object& entity, errors::InvalidParameters&) {
    if (auto* t = entity.if_contains("target"); t && t->is_string()) *t = normalize_target(t->get_string());
  };
  return c;
}

}  // namespace ok::api::config::entities
