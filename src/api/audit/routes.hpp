#pragma once
// Audit Logs API v2 (`/v2/audit-log-webhook`, its status and JWKS, `/v2/audit-log-replay-job`):
// each organization's audit settings, read and changed by organization admins and Audit Logs
// admins only, and the installation's Ed25519 public keys that verify signed entries.

namespace ok::api {
class App;
}

namespace ok::api::audit {

void register_routes(App& app);

}  // namespace ok::api::audit
