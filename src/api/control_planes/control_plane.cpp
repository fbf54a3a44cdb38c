#include "api/control_planes/control_plane.hpp"

#include "util/ids.hpp"

#include <algorithm>

namespace ok::api::control_planes {
namespace {

namespace bj = boost::json;
using schema::Field;
using schema::Kind;

const schema::ObjectSchema& proxy_url_schema() {
  static const schema::ObjectSchema s{{
      Field{.name = "host", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 120},
      Field{.name = "port", .kind = Kind::integer, .required = true, .minimum = 1, .maximum = 65535},
      Field{.name = "protocol", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 32},
  }};
  return s;
}

std::vector<std::string> cluster_type_choices() { return {kClusterTypes.begin(), kClusterTypes.end()}; }

Field name_field() { return {.name = "name", .kind = Kind::string, .required = true, .min_length = 2, .max_length = 256}; }
Field description_field() { return {.name = "description", .kind = Kind::string, .max_length = 2048}; }
Field auth_type_field() {
  return {.name = "auth_type", .kind = Kind::enumeration, .choices = {"pinned_client_certs", "pki_client_certs"}};
}
Field proxy_urls_field() {
  return {.name = "proxy_urls", .kind = Kind::array, .max_items = 5, .unique_items = true,
          .object = &proxy_url_schema(), .items = Kind::object};
}
Field labels_field() {
  return {.name = "labels", .kind = Kind::labels, .max_items = 50};
}
Field read_only(std::string name) { return {.name = std::move(name), .read_only = true}; }

}  // namespace

const schema::ObjectSchema& request_schema() {
  // cluster_type and cloud_gateway are chosen at creation: in a PATCH they are unknown_property,
  // as the spec's UpdateControlPlaneRequest (additionalProperties: false) lacks them.
  static const schema::ObjectSchema s{{
      name_field(),
      description_field(),
      Field{.name = "cluster_type", .kind = Kind::enumeration, .immutable = true, .choices = cluster_type_choices()},
      auth_type_field(),
      Field{.name = "cloud_gateway", .kind = Kind::boolean, .immutable = true},
      proxy_urls_field(),
      labels_field(),
      read_only("id"),
      read_only("config"),
      read_only("created_at"),
      read_only("updated_at"),
  }};
  return s;
}

bj::object to_json(const store::ControlPlane& cp, const Settings& settings) {
  bj::object labels;
  for (const auto& [k, v] : cp.labels) labels[k] = v;
  bj::array proxy_urls;
  for (const auto& u : cp.proxy_urls) {
    bj::object o{{"host", u.host}, {"port", u.port}, {"protocol", u.protocol}};
    proxy_urls.emplace_back(std::move(o));
  }
  return {{"id", cp.id},
          {"name", cp.name},
          {"description", cp.description},
          {"labels", std::move(labels)},
          {"config",
           bj::object{{"control_plane_endpoint", settings.cluster_url},
                      {"telemetry_endpoint", settings.telemetry_url},
                      {"cluster_type", cp.cluster_type},
                      {"auth_type", cp.auth_type},
                      {"cloud_gateway", cp.cloud_gateway},
                      {"proxy_urls", std::move(proxy_urls)}}},
          {"created_at", util::format_rfc3339_ms(cp.created_at)},
          {"updated_at", util::format_rfc3339_ms(cp.updated_at)}};
}

void apply(store::ControlPlane& cp, const bj::object& body) {
  if (auto* v = body.if_contains("name")) cp.name = std::string(v->as_string());
  if (auto* v = body.if_contains("description")) cp.description = std::string(v->as_string());
  if (auto* v = body.if_contains("cluster_type")) cp.cluster_type = std::string(v->as_string());
  if (auto* v = body.if_contains("auth_type")) cp.auth_type = std::string(v->as_string());
  if (auto* v = body.if_contains("cloud_gateway")) cp.cloud_gateway = v->as_bool();
  if (auto* v = body.if_contains("proxy_urls")) {
    cp.proxy_urls.clear();
    for (const auto& item : v->as_array()) {
      const auto& o = item.as_object();
      cp.proxy_urls.push_back({std::string(o.at("host").as_string()), o.at("port").to_number<std::int64_t>(),
                               std::string(o.at("protocol").as_string())});
    }
  }
  if (auto* v = body.if_contains("labels")) {
    for (const auto& [key, value] : v->as_object()) {
      auto it = std::find_if(cp.labels.begin(), cp.labels.end(), [&wanted = key](const auto& l) { return l.first == wanted; });
      if (value.is_null()) {
        if (it != cp.labels.end()) cp.labels.erase(it);
      } else if (it != cp.labels.end()) {
        it->second = std::string(value.as_string());
      } else {
        cp.labels.emplace_back(std::string(key), std::string(value.as_string()));
      }
    }
    std::sort(cp.labels.begin(), cp.labels.end());
  }
}

}  // namespace ok::api::control_planes
