#include "api/identity/organizations.hpp"

#include "api/identity/system_teams.hpp"
#include "auth/token.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <cctype>
#include <stdexcept>

namespace ok::api::identity {

CreatedOrganization create_organization(store::Store& store, const std::string& name, const std::string& admin_email,
                                        std::int64_t token_ttl_seconds) {
  if (name.empty() || schema::utf8_length(name) > 250) {
    throw std::invalid_argument("--name must have 1 to 250 characters");
  }
  const auto at = admin_email.find('@');
  if (admin_email.size() > 250 || at == std::string::npos || at == 0 || at + 1 >= admin_email.size() ||
      admin_email.find_first_of(" \t\r\n") != std::string::npos) {
    throw std::invalid_argument("--admin-email must be an email address such as admin@example.com");
  }
  const auto now = util::now_ms();
  store::OrganizationBootstrap b;
  b.organization.id = util::new_uuid();
  b.organization.name = name;
  b.organization.created_at = b.organization.updated_at = now;

  b.admin.id = util::new_uuid();
  b.admin.org_id = b.organization.id;
  b.admin.email = admin_email;
  for (auto& c : b.admin.email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  b.admin.full_name = "";
  b.admin.preferred_name = "";
  b.admin.created_at = b.admin.updated_at = now;
  b.organization.owner_id = b.admin.id;

  for (const auto& team : system_teams()) {
    store::Team t;
    t.id = util::new_uuid();
    t.org_id = b.organization.id;
    t.name = std::string(team.name);
    t.description = std::string(team.description);
    t.system_team = true;
    t.created_at = t.updated_at = now;
    for (const auto& role : team.roles) {
      b.team_roles.push_back({util::new_uuid(), t.org_id, "team", t.id, std::string(role.role_name),
                              std::string(role.entity_type_name), "*", "*"});
    }
    if (team.name == kOrganizationAdminTeam) b.admin_team_id = t.id;
    b.system_teams.push_back(std::move(t));
  }

  const std::string token = auth::generate_token(auth::TokenKind::personal);
  auto& t = b.admin_token;
  t.id = util::new_uuid();
  t.org_id = b.organization.id;
  t.owner_kind = store::PrincipalKind::user;
  t.owner_id = b.admin.id;
  t.name = "bootstrap";
  t.token_hash = auth::hash_token(token);
  t.expires_at = now + token_ttl_seconds * 1000;
  t.created_at = t.updated_at = now;

  store.bootstrap_organization(b);
  return {b.organization.id, b.admin.id, token};
}

}  // namespace ok::api::identity
