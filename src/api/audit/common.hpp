#pragma once
// What the audit settings' handlers share: who may use them, the endpoint check, and times
// as Konnect shows them.

#include "api/context.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ok::api::audit {

// Go's zero time, which Konnect shows for a setting never made ("initial value" in the spec).
constexpr std::string_view kNever = "0001-01-01T00:00:00Z";

std::string format_time(std::int64_t ms);

// Reading audit settings takes what changing them takes: the webhook's endpoint and the
// replay windows say where an organization's trail goes.
void require_audit_admin(RequestContext& ctx);

// A schema check: empty when `value` is an absolute http(s) URL with a host.
std::string http_url_check(std::string_view value);

}  // namespace ok::api::audit
