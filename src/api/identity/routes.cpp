#include "api/identity/routes.hpp"

#include "api/app.hpp"
#include "api/identity/common.hpp"
#include "api/identity/handlers.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "util/ids.hpp"

namespace ok::api::identity {

http::Response get_my_organization(RequestContext& ctx) {
  auto org = ctx.store().get_organization(ctx.org());
  if (!org) throw errors::ApiError::not_found("The requested organization was not found.");
  return json_response(200, boost::json::object{{"id", org->id},
                                                {"name", org->name},
                                                {"owner_id", org->owner_id},
                                                {"login_path", org->login_path},
                                                {"created_at", util::format_rfc3339_ms(org->created_at)},
                                                {"updated_at", util::format_rfc3339_ms(org->updated_at)},
                                                {"state", org->state},
                                                {"retention_period_days", org->retention_period_days}});
}

void register_routes(App& app) {
  app.route("GET", "/v3/organizations/me", get_my_organization);

  app.route("GET", "/v3/users/me", get_me);
  app.route("POST", "/v3/invites", invite);
  app.route("GET", "/v3/users", list_users);
  app.route("GET", "/v3/users/{userId}", get_user);
  app.route("PATCH", "/v3/users/{userId}", update_user);
  app.route("DELETE", "/v3/users/{userId}", delete_user);
  app.route("GET", "/v3/users/{userId}/teams", list_user_teams);

  app.route("GET", "/v3/users/{userId}/access-tokens", list_user_tokens);
  app.route("POST", "/v3/users/{userId}/access-tokens", create_user_token);
  app.route("GET", "/v3/users/{userId}/access-tokens/{tokenId}", get_user_token);
  app.route("PATCH", "/v3/users/{userId}/access-tokens/{tokenId}", update_user_token);
  app.route("DELETE", "/v3/users/{userId}/access-tokens/{tokenId}", delete_user_token);
  app.route("PATCH", "/v3/users/{userId}/access-tokens/{tokenId}/revoke", revoke_user_token);

  app.route("GET", "/v3/teams", list_teams);
  app.route("POST", "/v3/teams", create_team);
  app.route("GET", "/v3/teams/{teamId}", get_team);
  app.route("PATCH", "/v3/teams/{teamId}", update_team);
  app.route("DELETE", "/v3/teams/{teamId}", delete_team);
  app.route("GET", "/v3/teams/{teamId}/users", list_team_users);
  app.route("POST", "/v3/teams/{teamId}/users", add_team_user);
  app.route("DELETE", "/v3/teams/{teamId}/users/{userId}", remove_team_user);
  app.route("GET", "/v3/teams/{teamId}/system-accounts", list_team_accounts);
  app.route("POST", "/v3/teams/{teamId}/system-accounts", add_team_account);
  app.route("DELETE", "/v3/teams/{teamId}/system-accounts/{accountId}", remove_team_account);

  app.route("GET", "/v3/roles", get_roles);
  for (const auto& [prefix, param, kind] :
       {std::tuple{"/v3/users/", "{userId}", "user"}, std::tuple{"/v3/teams/", "{teamId}", "team"},
        std::tuple{"/v3/system-accounts/", "{accountId}", "system_account"}}) {
    const std::string base = std::string(prefix) + param + "/assigned-roles";
    const std::string k = kind;
    app.route("GET", base, [k](RequestContext& ctx) { return list_assigned_roles(ctx, k); });
    app.route("POST", base, [k](RequestContext& ctx) { return assign_role(ctx, k); });
    app.route("GET", base + "/{roleId}", [k](RequestContext& ctx) { return get_assigned_role(ctx, k); });
    app.route("DELETE", base + "/{roleId}", [k](RequestContext& ctx) { return remove_assigned_role(ctx, k); });
  }

  app.route("GET", "/v3/system-accounts", list_accounts);
  app.route("POST", "/v3/system-accounts", create_account);
  app.route("GET", "/v3/system-accounts/{accountId}", get_account);
  app.route("PATCH", "/v3/system-accounts/{accountId}", update_account);
  app.route("DELETE", "/v3/system-accounts/{accountId}", delete_account);
  app.route("GET", "/v3/system-accounts/{accountId}/access-tokens", list_account_tokens);
  app.route("POST", "/v3/system-accounts/{accountId}/access-tokens", create_account_token);
  app.route("GET", "/v3/system-accounts/{accountId}/access-tokens/{tokenId}", get_account_token);
  app.route("PATCH", "/v3/system-accounts/{accountId}/access-tokens/{tokenId}", update_account_token);
  app.route("DELETE", "/v3/system-accounts/{accountId}/access-tokens/{tokenId}", delete_account_token);
  app.route("GET", "/v3/system-accounts/{accountId}/teams", list_account_teams);
}

}  // namespace ok::api::identity
