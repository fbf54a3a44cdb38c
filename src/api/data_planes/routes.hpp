#pragma once

namespace ok::api {
class App;
}

namespace ok::api::data_planes {

// The data-plane side of Control Plane Configuration v2: pinned client certificates
// (/dp-client-certificates), nodes (/nodes, /nodes/eol, /nodes/{nodeId}) and
// /expected-config-hash.
void register_routes(App& app);

}  // namespace ok::api::data_planes
