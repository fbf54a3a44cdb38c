#include "api/identity/system_teams.hpp"

#include "auth/permissions.hpp"

namespace ok::api::identity {

const std::vector<SystemTeam>& system_teams() {
  static const std::vector<SystemTeam> teams = {
      {"Organization Admin", "Users in this team can manage every resource of the organization.",
       {{"Admin", auth::kOrganization}}},
      {"Organization Admin (Read Only)", "Users in this team can read every resource of the organization.",
       {{"Viewer", auth::kOrganization}}},
      {"Control Plane Admin", "Users in this team can create, read, update and delete every control plane.",
       {{"Admin", auth::kControlPlanes}}},
      {"API Product Admin", "Users in this team can manage every API product.", {{"Admin", "API Products"}}},
      {"API Product Developer", "Users in this team can create and publish API products.",
       {{"Creator", "API Products"}}},
      {"Portal Admin", "Users in this team can manage every developer portal.", {{"Admin", "Portals"}}},
      {"Analytics Admin", "Users in this team can manage every report and dashboard.",
       {{"Admin", "Reports"}, {"Admin", "Dashboards"}}},
      {"Analytics Viewer", "Users in this team can read every report and dashboard.",
       {{"Viewer", "Reports"}, {"Viewer", "Dashboards"}}},
  };
  return teams;
}

}  // namespace ok::api::identity
