#pragma once
// Organizations: the tenant boundary, and their bootstrap (`openkonnect org create`).

#include "store/store.hpp"

#include <string>

namespace ok::api::identity {

struct CreatedOrganization {
  std::string organization_id;
  std::string user_id;
  std::string token;  // shown once
};

// Creates an organization with its predefined system teams, one user who is a member of
// the Organization Admin team, and a personal access token for that user, in one
// transaction. Throws std::invalid_argument for a bad name or email.
CreatedOrganization create_organization(store::Store& store, const std::string& name, const std::string& admin_email,
                                        std::int64_t token_ttl_seconds);

}  // namespace ok::api::identity
