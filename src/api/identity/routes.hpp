#pragma once

namespace ok::api {
class App;
}

namespace ok::api::identity {

// Registers the Identity API v3 routes.
void register_routes(App& app);

}  // namespace ok::api::identity
