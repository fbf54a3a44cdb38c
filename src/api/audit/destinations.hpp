#pragma once
// /v2/audit-log-destinations and /v2/audit-log-destinations/{auditLogDestinationId}: named
// receivers an organization's webhook can point at (docs/AUDIT.md).

namespace ok::api {
class App;
}

namespace ok::api::audit {

void register_destination_routes(App& app);

}  // namespace ok::api::audit
