#pragma once
// Authorization is data: a principal holds role assignments (role x entity type x entity id
// or "*" x region), directly and through its teams; the table in permissions.cpp says what
// each role may do. `decide` is the one function that answers "may this principal do this";
// handlers call it (through api::RequestContext::authorize) and never re-implement it.

#include "store/store.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace ok::auth {

enum class Verb { read, create, update, remove };

// Entity types, spelled as Konnect's entity_type_name.
inline constexpr std::string_view kControlPlanes = "Control Planes";
inline constexpr std::string_view kIdentity = "Identity";
inline constexpr std::string_view kAuditLogs = "Audit Logs";
// Organization-wide roles of the predefined teams (Organization Admin, Organization Admin
// (Read Only)); not assignable through the API.
inline constexpr std::string_view kOrganization = "Organization";

struct Action {
  std::string_view entity_type;
  Verb verb = Verb::read;
  std::string_view entity_id;  // empty: the collection (create, list)
};

struct Decision {
  bool allowed = false;
  std::string required_role;  // for the 403 detail, e.g. "Creator"
};

Decision decide(const std::vector<store::RoleAssignment>& roles, const Action& action);

// The gateway configuration of one control plane. Reading it takes what reading the control
// plane takes; writing an entity takes Admin on the control plane (or on all of them), or the
// role Konnect gives for that family of entities ("services" -> Gateway Service Admin,
// Deployer; see permissions.cpp), or Organization Admin.
struct ConfigAction {
  std::string_view control_plane_id;
  std::string_view
      family;  // "services", "routes", "plugins", "consumers", "certificates", "snis", "upstreams", "keys", "vaults"
  Verb verb = Verb::read;
};
// A refused write names the family's own role ("Gateway Service Admin") or "Admin".
Decision decide_config(const std::vector<store::RoleAssignment>& roles, const ConfigAction& action);

// True when the principal can read every entity of the type (so lists need no per-row check).
bool can_read_all(const std::vector<store::RoleAssignment>& roles, std::string_view entity_type);
// Ids of entities of `entity_type` the principal holds some role on.
std::vector<std::string> readable_ids(const std::vector<store::RoleAssignment>& roles, std::string_view entity_type);

}  // namespace ok::auth
