#pragma once
// Server settings that the API layer needs (the HTTP layer has its own limits).

#include <cstdint>
#include "ratelimit/limiter.hpp"

#include <string>

namespace ok::api {

// Request budgets (0 quota disables one). Defaults are sized for automation such as decK,
// which runs about 10 requests in parallel: 1200 requests a minute per token is 20 a second,
// sustained, with a full minute's quota available as a burst.
struct RateLimits {
  ratelimit::Policy token{"token", 1200, std::chrono::seconds(60)};
  ratelimit::Policy organization{"organization", 6000, std::chrono::seconds(60)};
  ratelimit::Policy auth_failures{"auth-failures", 60, std::chrono::seconds(60)};  // per client IP
  ratelimit::Policy invites{"invites", 30, std::chrono::seconds(3600)};            // per organization
};

struct Settings {
  std::uint64_t max_body_bytes = 1024 * 1024;
  std::size_t max_json_depth = 64;
  std::string cluster_url;    // config.control_plane_endpoint of every control plane
  std::string telemetry_url;  // config.telemetry_endpoint
  RateLimits rate_limits;
  // Memory for rendered list pages (api/generation_cache.hpp); 0 turns that cache off.
  std::size_t list_cache_mib = 16;
  // Every authenticated request and failed authentication gets an audit record, durable
  // before its answer leaves (docs/AUDIT.md). Off only for comparison in benchmarks.
  bool audit = true;
};

}  // namespace ok::api
