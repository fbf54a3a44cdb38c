#pragma once

namespace ok::api {
class App;
}

namespace ok::api::system {

// Registers the unauthenticated operational routes: /healthz and /metrics.
void register_routes(App& app);

}  // namespace ok::api::system
