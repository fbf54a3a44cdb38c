#pragma once

namespace ok::api {
class App;
}

namespace ok::api::control_planes {

// Registers the Control Planes API v2 routes.
void register_routes(App& app);

}  // namespace ok::api::control_planes
