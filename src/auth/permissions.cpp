#include "auth/permissions.hpp"

#include <array>

namespace ok::auth {
namespace {

struct Grant {
  std::string_view entity_type;
  std::string_view role;
  bool read, create, update, remove;
};

// What each role lets its holder do on its entity type. Roles not listed (e.g. "Gateway
// Service Admin" on Control Planes) grant read access to the entity they are assigned on;
// their finer powers belong to the configuration APIs that come later.
constexpr std::array kGrants = {
    Grant{kOrganization, "Admin", true, true, true, true},
    Grant{kOrganization, "Viewer", true, false, false, false},
    Grant{kIdentity, "Admin", true, true, true, true},
    Grant{kControlPlanes, "Admin", true, true, true, true},
    Grant{kControlPlanes, "Creator", false, true, false, false},
    Grant{kControlPlanes, "Viewer", true, false, false, false},
    Grant{kAuditLogs, "Admin", true, true, true, true},
};

const Grant* find_grant(std::string_view entity_type, std::string_view role) {
  for (const auto& g : kGrants) {
    if (g.entity_type == entity_type && g.role == role) return &g;
  }
  return nullptr;
}

bool grants(const Grant& g, Verb verb) {
  switch (verb) {
    case Verb::read:
      return g.read;
    case Verb::create:
      return g.create;
    case Verb::update:
      return g.update;
    case Verb::remove:
      return g.remove;
  }
  return false;
}

bool covers(const store::RoleAssignment& r, const Action& action) {
  if (r.entity_id == "*") return true;
  // A role on one entity says nothing about the collection (creating, listing all).
  return !action.entity_id.empty() && r.entity_id == action.entity_id;
}

}  // namespace

Decision decide(const std::vector<store::RoleAssignment>& roles, const Action& action) {
  for (const auto& r : roles) {
    if (r.entity_type_name == kOrganization) {
      const Grant* g = find_grant(kOrganization, r.role_name);
      if (g && grants(*g, action.verb)) return {true, {}};
      continue;
    }
    if (r.entity_type_name != action.entity_type || !covers(r, action)) continue;
    if (const Grant* g = find_grant(r.entity_type_name, r.role_name)) {
      if (grants(*g, action.verb)) return {true, {}};
    } else if (action.verb == Verb::read) {
      return {true, {}};
    }
  }
  std::string needed;
  if (action.entity_type == kControlPlanes) {
    needed = action.verb == Verb::create ? "Creator" : action.verb == Verb::read ? "Viewer" : "Admin";
  } else {
    needed = "Admin";
  }
  return {false, needed};
}

namespace {

// Which control-plane roles write which family of configuration entities (beyond Admin, which
// writes them all). The role names are Konnect's (/v3/roles, "control_planes").
struct FamilyRole {
  std::string_view role;
  std::string_view family;
};
constexpr std::array kFamilyRoles = {
    FamilyRole{"Deployer", "services"},        FamilyRole{"Deployer", "routes"},
    FamilyRole{"Deployer", "plugins"},         FamilyRole{"Gateway Service Admin", "services"},
    FamilyRole{"Route Admin", "routes"},       FamilyRole{"Plugin Admin", "plugins"},
    FamilyRole{"Consumer Admin", "consumers"}, FamilyRole{"Certificate Admin", "certificates"},
    FamilyRole{"SNI Admin", "snis"},           FamilyRole{"Upstream Admin", "upstreams"},
    FamilyRole{"Key Admin", "keys"},           FamilyRole{"Vault Admin", "vaults"},
};

bool writes_family(std::string_view role, std::string_view family) {
  if (role == "Admin") return true;
  for (const auto& fr : kFamilyRoles) {
    if (fr.role == role && fr.family == family) return true;
  }
  return false;
}

}  // namespace

Decision decide_config(const std::vector<store::RoleAssignment>& roles, const ConfigAction& action) {
  if (action.verb == Verb::read) {
    auto d = decide(roles, {kControlPlanes, Verb::read, action.control_plane_id});
    if (!d.allowed) d.required_role = "Viewer";
    return d;
  }
  for (const auto& r : roles) {
    if (r.entity_type_name == kOrganization) {
      if (r.role_name == "Admin") return {true, {}};
      continue;
    }
    if (r.entity_type_name != kControlPlanes) continue;
    if (r.entity_id != "*" && r.entity_id != action.control_plane_id) continue;
    if (writes_family(r.role_name, action.family)) return {true, {}};
  }
  // Name the narrowest role that would do (Admin always would).
  std::string needed = "Admin";
  for (const auto& fr : kFamilyRoles) {
    if (fr.family == action.family && fr.role != "Deployer") needed = fr.role;
  }
  return {false, needed};
}

bool can_read_all(const std::vector<store::RoleAssignment>& roles, std::string_view entity_type) {
  for (const auto& r : roles) {
    if (r.entity_type_name == kOrganization) return true;  // both organization roles read everything
    if (r.entity_type_name == entity_type && r.entity_id == "*") {
      const Grant* g = find_grant(entity_type, r.role_name);
      if (!g || g->read) return true;
    }
  }
  return false;
}

std::vector<std::string> readable_ids(const std::vector<store::RoleAssignment>& roles, std::string_view entity_type) {
  std::vector<std::string> ids;
  for (const auto& r : roles) {
    if (r.entity_type_name != entity_type || r.entity_id == "*") continue;
    const Grant* g = find_grant(entity_type, r.role_name);
    if (!g || g->read) ids.push_back(r.entity_id);
  }
  return ids;
}

}  // namespace ok::auth
