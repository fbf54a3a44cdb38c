#include "api/config/plugins/plugins.hpp"

#include "schema/typedefs.hpp"

#include <algorithm>

namespace ok::api::config::plugins {

schema::Subschema plugin(std::string name, schema::RecordDef config, PluginOptions options) {
  using namespace schema::fields;
  // A plugin's whole configuration is shown, unset members as null, as Kong and Konnect do.
  config.keep_nulls = true;
  schema::Subschema sub{.name = std::move(name)};
  sub.fields.push_back(record("config", std::move(config)));
  sub.fields.push_back(options.protocols ? *options.protocols : schema::typedefs::protocols_http());
  auto cannot = [&](const char* what) { return "plugin [" + sub.name + "] cannot be configured on a " + what; };
  if (options.no_consumer) {
    sub.fields.push_back(foreign("consumer", "consumers", "username").cascade().null_only(cannot("consumer")));
  }
  if (options.no_route) sub.fields.push_back(foreign("route", "routes", "name").cascade().null_only(cannot("route")));
  if (options.no_service) {
    sub.fields.push_back(foreign("service", "services", "name").cascade().null_only(cannot("service")));
  }
  return sub;
}

const std::vector<schema::Subschema>& catalog() {
  static const std::vector<schema::Subschema> all = [] {
    std::vector<schema::Subschema> v = {
        acl(),
        basic_auth(),
        bot_detection(),
        correlation_id(),
        cors(),
        file_log(),
        hmac_auth(),
        http_log(),
        ip_restriction(),
        jwt(),
        key_auth(),
        opentelemetry(),
        post_function(),
        pre_function(),
        prometheus(),
        proxy_cache(),
        rate_limiting(),
        request_size_limiting(),
        request_termination(),
        request_transformer(),
        response_ratelimiting(),
        response_transformer(),
        tcp_log(),
        udp_log(),
    };
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return v;
  }();
  return all;
}

const schema::Subschema* find(std::string_view name) {
  const auto& all = catalog();
  const auto it = std::lower_bound(all.begin(), all.end(), name,
                                   [](const schema::Subschema& s, std::string_view n) { return s.name < n; });
  return it != all.end() && it->name == name ? &*it : nullptr;
}

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& s : catalog()) out.push_back(s.name);
  return out;
}

}  // namespace ok::api::config::plugins
