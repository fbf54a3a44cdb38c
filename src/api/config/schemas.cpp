// What clients learn about entities before writing them: Kong's schema of a plugin
// (/schemas/plugins/{name}), a body validated without writing (/schemas/{entity}/validate), and
// the house extensions decK and Kong's UI rely on: JSON Schemas with defaults
// (/v1/schemas/json/{entity}) and the plugin catalogue (/v1/available-plugins).

#include "api/app.hpp"
#include "api/config/entity_request.hpp"
#include "api/config/plugins/plugins.hpp"
#include "api/config/routes.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "schema/entity_documents.hpp"

#include <fmt/format.h>

namespace ok::api::config {
namespace {

namespace bj = boost::json;
using auth::Verb;

// An entity by any of the names clients use for it: "service", "services", "key-sets", "key-set".
const ConfigEntity* entity_named(std::string_view name) {
  const auto& registry = Registry::get();
  if (const auto* e = registry.by_json_name(name)) return e;
  if (const auto* e = registry.by_name(name)) return e;
  for (const auto* e : registry.entities()) {
    if (e->path == name && e->top_level) return e;
  }
  return nullptr;
}

// Reads need only the control plane; they are allowed to whoever may read its configuration.
store::ControlPlane readable_control_plane(RequestContext& ctx) {
  auto cp = load_control_plane(ctx);
  authorize(ctx, cp, "services", Verb::read);
  return cp;
}

http::Response plugin_schema(RequestContext& ctx) {
  readable_control_plane(ctx);
  const auto& name = ctx.path_param("pluginName");
  const auto* sub = plugins::find(name);
  if (!sub) throw errors::ApiError::not_found(fmt::format("No plugin named [{}] is available.", name));
  const auto& type = *Registry::get().by_name("plugins");
  return json_response(200, schema::kong_schema(type.def.effective_record(sub)));
}

// Kong's schema of any entity by name; Kong's UI reads the credentials' ("key-auth", "acls" …)
// from here to build their forms.
http::Response entity_schema(RequestContext& ctx) {
  readable_control_plane(ctx);
  const auto& name = ctx.path_param("entityName");
  const auto* type = entity_named(name);
  if (!type) throw errors::ApiError::not_found(fmt::format("No entity named [{}] is known.", name));
  return json_response(200, schema::kong_schema(type->def.record));
}

http::Response json_schema(RequestContext& ctx) {
  readable_control_plane(ctx);
  const auto& name = ctx.path_param("entityName");
  const auto* type = entity_named(name);
  if (!type) throw errors::ApiError::not_found(fmt::format("No entity named [{}] is known.", name));
  return json_response(200, schema::json_schema(type->def.record));
}

http::Response available_plugins(RequestContext& ctx) {
  readable_control_plane(ctx);
  bj::array names;
  for (const auto& n : plugins::names()) names.emplace_back(n);
  return json_response(200, bj::object{{"names", std::move(names)}});
}

http::Response validate(RequestContext& ctx) {
  const auto cp = readable_control_plane(ctx);
  const auto& name = ctx.path_param("entityName");
  const auto* type = entity_named(name);
  if (!type) throw errors::ApiError::not_found(fmt::format("No entity named [{}] is known.", name));
  validated_entity(ctx, store::Scope::of(cp), *type, ctx.json_body(), {}, false);
  return json_response(200, bj::object{{"message", "schema validation successful"}});
}

}  // namespace

void register_schema_routes(App& app) {
  app.route("GET", kCoreEntitiesPath + "/schemas/plugins/{pluginName}", plugin_schema);
  app.route("POST", kCoreEntitiesPath + "/schemas/{entityName}/validate", validate);
  app.route("GET", kCoreEntitiesPath + "/v1/schemas/json/{entityName}", json_schema);
  app.route("GET", kCoreEntitiesPath + "/v1/available-plugins", available_plugins);
  // Where Kong's UI components (entities-plugins) read the same schemas: the plugin form asks
  // /schemas/core-entities/plugins/{name}, a credential form /schemas/core-entities/{entity}.
  const std::string ui_schemas = "/v2/control-planes/{controlPlaneId}/schemas/core-entities";
  app.route("GET", ui_schemas + "/plugins/{pluginName}", plugin_schema);
  app.route("GET", ui_schemas + "/{entityName}", entity_schema);
}

}  // namespace ok::api::config
