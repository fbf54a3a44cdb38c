#pragma once
// Shared pieces of the Identity API handlers: JSON forms of the resources, loaders that
// give the contract's 400/404 for path ids, paging envelopes and the identity permission
// checks.

#include "api/context.hpp"
#include "api/list_query.hpp"
#include "schema/schema.hpp"
#include "store/store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace ok::api::identity {

boost::json::object user_json(const store::User& u);
boost::json::object team_json(const store::Team& t);
boost::json::object account_json(const store::SystemAccount& a);
boost::json::object role_json(const store::RoleAssignment& r);

// Lists filtered by name only (a user's or an account's teams, an account's tokens).
const ListSpec& name_list_spec();

// {"meta":{"page":{number,size,total}},"data":[...]}
boost::json::object page_envelope(const ListQuery& q, std::int64_t total, boost::json::array data);

// Loaders: 400 for a malformed path id, 404 when the id is not in the caller's organization.
store::User load_user(RequestContext& ctx, std::string_view param = "userId");
store::Team load_team(RequestContext& ctx, std::string_view param = "teamId");
store::SystemAccount load_account(RequestContext& ctx, std::string_view param = "accountId");

// Identity permissions: Organization Admin and Identity Admin manage, Organization Admin
// (Read Only) reads.
bool can(RequestContext& ctx, auth::Verb verb);
void require(RequestContext& ctx, auth::Verb verb);
bool is_caller(RequestContext& ctx, store::PrincipalKind kind, const std::string& id);

std::string organization_admin_team_id(RequestContext& ctx);

// Emails are stored and compared in lower case: two spellings that differ only in case
// reach the same mailbox in practice, so they must be the same user.
std::string normalize_email(std::string_view email);

// Applies a labels object (validated) onto `labels`: set values, remove null ones.
void merge_labels(std::vector<std::pair<std::string, std::string>>& labels, const boost::json::object& update,
                  bool replace);

}  // namespace ok::api::identity
