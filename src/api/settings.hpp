#pragma once
// Server settings that the API layer needs (the HTTP layer has its own limits).

#include <cstdint>
#include <string>

namespace ok::api {

struct Settings {
  std::uint64_t max_body_bytes = 1024 * 1024;
  std::size_t max_json_depth = 64;
  std::string cluster_url;    // config.control_plane_endpoint of every control plane
  std::string telemetry_url;  // config.telemetry_endpoint
};

}  // namespace ok::api
