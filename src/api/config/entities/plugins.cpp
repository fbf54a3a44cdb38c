// Plugins (Kong's plugins.lua and the plugins DAO's checks): a plugin's `name` selects its
// sub-schema (api/config/plugins/), which supplies its `config` and scope rules.

#include "api/config/plugins/plugins.hpp"
#include "api/config/entities/entities.hpp"
#include "schema/typedefs.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>

namespace ok::api::config::entities {
namespace {

namespace bj = boost::json;
using namespace schema::fields;
namespace typedefs = schema::typedefs;

std::vector<std::string> protocols_of(const bj::value& v) {
  std::vector<std::string> out;
  if (!v.is_array()) return out;
  for (const auto& p : v.get_array()) {
    if (p.is_string()) out.emplace_back(p.get_string());
  }
  return out;
}

bool share_one(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::any_of(a.begin(), a.end(),
                     [&](const std::string& p) { return std::find(b.begin(), b.end(), p) != b.end(); });
}

std::string referenced_id(const bj::object& plugin, const char* field) {
  const auto* ref = plugin.if_contains(field);
  if (!ref || !ref->is_object()) return {};
  const auto* id = ref->get_object().if_contains("id");
  return id && id->is_string() ? std::string(id->get_string()) : std::string();
}

// Kong's plugins DAO: a plugin must be able to run on its route (or on some route of its
// service), so their protocols must meet.
void check_protocols(HookContext& hook, bj::object& plugin, errors::InvalidParameters& problems) {
  const auto* protocols_value = plugin.if_contains("protocols");
  if (!protocols_value) return;
  const auto protocols = protocols_of(*protocols_value);
  if (const auto route_id = referenced_id(plugin, "route"); !route_id.empty()) {
    if (const auto route = hook.store.get(hook.scope, "routes", {"id", route_id})) {
      const auto route_protocols = protocols_of(bj::parse(route->body).at("protocols"));
      if (!share_one(protocols, route_protocols)) {
        problems.push_back({.field = "protocols",
                            .rule = errors::Rule::invalid,
                            .reason = "must match the associated route's protocols"});
      }
    }
    return;
  }
  if (const auto service_id = referenced_id(plugin, "service"); !service_id.empty()) {
    const auto routes = hook.store.referencing(hook.scope, "services", service_id, "routes", "service");
    if (routes.empty()) return;
    const bool any = std::any_of(routes.begin(), routes.end(), [&](const store::StoredEntity& r) {
      return share_one(protocols, protocols_of(bj::parse(r.body).at("protocols")));
    });
    if (!any) {
      problems.push_back(
          {.field = "protocols",
           .rule = errors::Rule::invalid,
           .reason = "must match the protocols of at least one route pointing to this Plugin's service"});
    }
  }
}

}  // namespace

ConfigEntity plugins() {
  auto
      c =
          ConfigEntity{
              .def =
                  {
                      .name = "plugins",
                      .display = "Plugin",
                      .endpoint_key = "instance_name",
                      .record =
                          {
                              .fields =
                                  {
                                      typedefs::id(),
                                      string("name").req(),
                                      typedefs::utf8_name("instance_name"),
                                      typedefs::created_at(),
                                      typedefs::updated_at(),
                                      foreign("route", "routes", "name").cascade(),
                                      foreign("service", "services", "name").cascade(),
                                      foreign("consumer", "consumers", "username").cascade(),
                                      foreign("consumer_group", "consumer_groups", "name").cascade(),
                                      json("config"),
                                      typedefs::protocols(),
                                      boolean("enabled").req().def(true),
                                      typedefs::tags(),
                                      record(
                                          "ordering", {.fields =
                                                           {record("before", {.fields =
                                                                                  {array("access", string("plugin"))}})
                                                                .req(false),
                                                            record("after", {.fields =
                                                                                 {array("access", string("plugin"))}})
                                                                .req(false)}})
                                          .req(false),
                                  },
                          },
                      // Kong's cache key (and Konnect's, with consumer groups): one plugin of a name per scope.
                      .unique_together = {{"name", "route", "service", "consumer", "consumer_group"}},
                      .subschema_key = "name",
                      .subschema = plugins::find,
                      .subschema_names = plugins::names,
                  },
              .path = "plugins",
              .param = "PluginId",
              .json_name = "plugin",
              .family = "plugins",
              .name_filters = {{"name", "name"}},
          };
  c.complete = check_protocols;
  return c;
}

}  // namespace ok::api::config::entities
