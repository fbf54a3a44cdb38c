// Routes (Kong's routes.lua and routes_subschemas.lua, under the traditional_compatible
// router): which requests reach a service. The rules Kong keys on a route's first protocol are
// one entity check here (route_matchers_check).

#include "api/config/entities/entities.hpp"
#include "schema/entity_validator.hpp"
#include "schema/typedefs.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace ok::api::config::entities {
namespace {

namespace bj = boost::json;
using namespace schema::fields;
namespace typedefs = schema::typedefs;
using errors::InvalidParameter;
using errors::Rule;

bool has(const bj::array& protocols, std::string_view p) {
  return std::any_of(protocols.begin(), protocols.end(),
                     [&](const bj::value& v) { return v.is_string() && v.get_string() == p; });
}

std::string quoted(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

// A route's protocols stay within one group, and the group decides which matchers it needs
// and which it may not have.
void route_matchers_check(const bj::object& route, std::string_view prefix, errors::InvalidParameters& out) {
  const auto* protocols_value = route.if_contains("protocols");
  if (!protocols_value || !protocols_value->is_array() || protocols_value->get_array().empty()) return;
  const auto& protocols = protocols_value->get_array();
  static const std::vector<std::vector<std::string>> groups = {
      {"http", "https"}, {"tcp", "tls", "udp"}, {"tls_passthrough"}, {"grpc", "grpcs"}, {"ws", "wss"}};
  const std::vector<std::string>* group = nullptr;
  for (const auto& g : groups) {
    if (std::any_of(g.begin(), g.end(), [&](const std::string& p) { return has(protocols, p); })) {
      if (group) {
        out.push_back({.field = schema::field_path(prefix, "protocols"),
                       .rule = Rule::invalid,
                       .reason = "these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp'), "
                                 "('tls_passthrough'), ('grpc', 'grpcs'), ('ws', 'wss')"});
        return;
      }
      group = &g;
    }
  }
  if (!group) return;
  auto set = [&](const char* field) { return schema::is_set(route.if_contains(field)); };
  auto forbid = [&](const char* field, std::string_view when) {
    if (set(field)) {
      out.push_back({.field = schema::field_path(prefix, field),
                     .rule = Rule::is_null,
                     .reason = fmt::format("cannot set '{}' when 'protocols' is {}", field, when)});
    }
  };
  auto need_one_of = [&](const std::vector<std::string>& fields, std::string_view protocol) {
    if (std::any_of(fields.begin(), fields.end(), [&](const std::string& f) { return set(f.c_str()); })) return;
    InvalidParameter p{
        .field = schema::field_path(prefix, fields.front()),
        .rule = Rule::dependent_fields,
        .reason = fields.size() == 1
                      ? fmt::format("must set {} when 'protocols' is '{}'", fields.front(), protocol)
                      : fmt::format("must set one of {} when 'protocols' is '{}'", quoted(fields), protocol)};
    for (const auto& f : fields) p.dependents.push_back(schema::field_path(prefix, f));
    out.push_back(std::move(p));
  };
  const auto& first = group->front();
  if (first == "http" || first == "ws") {
    const std::string when = first == "http" ? "'http' or 'https'" : "'ws' or 'wss'";
    forbid("sources", when);
    forbid("destinations", when);
    const bool secure = has(protocols, first == "http" ? "https" : "wss");
    if (secure) {
      need_one_of({"methods", "hosts", "headers", "paths", "snis"}, first == "http" ? "https" : "wss");
    } else {
      need_one_of({"methods", "hosts", "headers", "paths"}, first);
    }
  } else if (first == "tcp" || first == "tls_passthrough") {
    const std::string_view when = "'tcp', 'tls', 'tls_passthrough' or 'udp'";
    for (const char* f : {"methods", "hosts", "paths", "headers"}) forbid(f, when);
    if (first == "tcp") {
      need_one_of({"sources", "destinations", "snis"}, has(protocols, "tcp")   ? "tcp"
                                                       : has(protocols, "tls") ? "tls"
                                                                               : "udp");
    } else {
      need_one_of({"snis"}, "tls_passthrough");
    }
  } else if (first == "grpc") {
    const std::string_view when = "'grpc' or 'grpcs'";
    forbid("methods", when);
    forbid("sources", when);
    forbid("destinations", when);
    if (const auto* strip = route.if_contains("strip_path"); strip && strip->is_bool() && strip->get_bool()) {
      out.push_back({.field = schema::field_path(prefix, "strip_path"),
                     .rule = Rule::invalid,
                     .reason = "cannot set 'strip_path' when 'protocols' is 'grpc' or 'grpcs'"});
    }
    if (has(protocols, "grpcs")) {
      need_one_of({"hosts", "headers", "paths", "snis"}, "grpcs");
    } else {
      need_one_of({"hosts", "headers", "paths"}, "grpc");
    }
  }
  // SNIs only make sense where TLS is terminated or passed through.
  const bool tls = has(protocols, "https") || has(protocols, "grpcs") || has(protocols, "tls") ||
                   has(protocols, "tls_passthrough") || has(protocols, "wss");
  if (!tls && set("snis")) {
    out.push_back(
        {.field = schema::field_path(prefix, "snis"),
         .rule = Rule::is_null,
         .reason = "'snis' can only be set when 'protocols' is 'grpcs', 'https', 'tls', 'tls_passthrough' or 'wss'"});
  }
}

schema::FieldDef route_headers() {
  auto headers = typedefs::headers();
  auto keys = *headers.keys;
  headers.keys =
      std::make_shared<const schema::FieldDef>(keys.check([](const bj::value& v) -> std::optional<schema::Problem> {
        if (!v.is_string()) return std::nullopt;
        std::string lower(v.get_string());
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        if (lower != "host") return std::nullopt;
        return schema::Problem{Rule::invalid,
                               "cannot contain 'host' header, which must be specified in the 'hosts' attribute"};
      }));
  return headers;
}

}  // namespace

ConfigEntity routes() {
  return ConfigEntity{
      .def =
          {
              .name = "routes",
              .display = "Route",
              .endpoint_key = "name",
              .record =
                  {
                      .fields =
                          {
                              typedefs::id(),
                              typedefs::created_at(),
                              typedefs::updated_at(),
                              typedefs::utf8_name("name"),
                              set("protocols", typedefs::protocol("protocol"))
                                  .req()
                                  .len(1)
                                  .def(bj::array{"http", "https"}),
                              integer("https_redirect_status_code")
                                  .one_of_values({426, 301, 302, 307, 308})
                                  .def(426)
                                  .req(),
                              integer("regex_priority").def(0),
                              boolean("strip_path").def(true).req(),
                              string("path_handling").one_of_values({"v0", "v1"}).def("v0"),
                              boolean("preserve_host").def(false).req(),
                              boolean("request_buffering").def(true).req(),
                              boolean("response_buffering").def(true).req(),
                              typedefs::tags(),
                              foreign("service", "services", "name").forced_cascade(),
                              typedefs::snis(),
                              typedefs::sources(),
                              typedefs::destinations(),
                              typedefs::methods(),
                              typedefs::hosts(),
                              typedefs::router_paths(),
                              route_headers(),
                          },
                      .checks = {schema::custom_check({"protocols", "methods", "hosts", "headers", "paths", "snis",
                                                       "sources", "destinations", "strip_path"},
                                                      route_matchers_check)},
                  },
          },
      .path = "routes",
      .param = "RouteId",
      .json_name = "route",
      .family = "routes",
      .name_filters = {{"name", "name"}},
  };
}

}  // namespace ok::api::config::entities
