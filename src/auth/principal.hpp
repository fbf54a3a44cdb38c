#pragma once
// Who is calling: the authenticated owner of a token, always inside one organization.

#include "store/records.hpp"

#include <string>

namespace ok::auth {

struct Principal {
  store::OrgId org{""};
  store::PrincipalKind kind = store::PrincipalKind::user;
  std::string id;        // user or system-account id
  std::string token_id;  // the credential used

  bool is_user() const { return kind == store::PrincipalKind::user; }
  std::string kind_name() const { return is_user() ? "user" : "system_account"; }
};

}  // namespace ok::auth
