#pragma once
// Konnect's predefined roles: what GET /v3/roles lists, and which role names may be
// assigned on which entity type.

#include <boost/json/object.hpp>
#include <string_view>
#include <vector>

namespace ok::api::identity {

// The GET /v3/roles document.
const boost::json::object& roles_document();

// The spec's enums for role assignment requests.
const std::vector<std::string>& assignable_role_names();
const std::vector<std::string>& assignable_entity_types();
inline const std::vector<std::string> kEntityRegions = {"us", "eu", "au", "me", "in", "sg", "*"};

// Roles that exist for an entity type (the /roles catalogue where it lists the type; every
// assignable role name for types it does not list).
std::vector<std::string> roles_for_entity_type(std::string_view entity_type);

}  // namespace ok::api::identity
