#pragma once

#include <string>

namespace ok::api {
class App;
}

namespace ok::api::config {

// Where every core entity lives: /v2/control-planes/{controlPlaneId}/core-entities/...
inline const std::string kCoreEntitiesPath = "/v2/control-planes/{controlPlaneId}/core-entities";

// Registers the Control Plane Configuration v2 routes (core entities, their schemas) and the
// house extensions Kong's clients need (docs/API.md).
void register_routes(App& app);

// The generic entity endpoints (endpoints.cpp), part of register_routes.
void register_entity_routes(App& app);
// Consumer groups' own endpoints (consumer_groups.cpp).
void register_consumer_group_routes(App& app);
// Schema documents and validation (schemas.cpp).
void register_schema_routes(App& app);

}  // namespace ok::api::config
