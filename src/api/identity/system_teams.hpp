#pragma once
// The predefined teams every organization has, and the roles each grants.

#include <string_view>
#include <vector>

namespace ok::api::identity {

struct SystemTeamRole {
  std::string_view role_name;
  std::string_view entity_type_name;
};

struct SystemTeam {
  std::string_view name;
  std::string_view description;
  std::vector<SystemTeamRole> roles;
};

inline constexpr std::string_view kOrganizationAdminTeam = "Organization Admin";

const std::vector<SystemTeam>& system_teams();

}  // namespace ok::api::identity
