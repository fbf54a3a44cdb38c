#pragma once
// The Identity API handlers, registered in routes.cpp.

#include "api/context.hpp"

#include <optional>
#include <string>

namespace ok::api::identity {

// users.cpp
http::Response list_users(RequestContext& ctx);
http::Response list_users_page(RequestContext& ctx, const std::optional<std::string>& team_id);
http::Response get_user(RequestContext& ctx);
http::Response update_user(RequestContext& ctx);
http::Response delete_user(RequestContext& ctx);
http::Response get_me(RequestContext& ctx);
http::Response invite(RequestContext& ctx);

// teams.cpp
http::Response list_teams(RequestContext& ctx);
http::Response create_team(RequestContext& ctx);
http::Response get_team(RequestContext& ctx);
http::Response update_team(RequestContext& ctx);
http::Response delete_team(RequestContext& ctx);
http::Response list_team_users(RequestContext& ctx);
http::Response add_team_user(RequestContext& ctx);
http::Response remove_team_user(RequestContext& ctx);
http::Response list_team_accounts(RequestContext& ctx);
http::Response add_team_account(RequestContext& ctx);
http::Response remove_team_account(RequestContext& ctx);
http::Response list_user_teams(RequestContext& ctx);
http::Response list_account_teams(RequestContext& ctx);

// roles.cpp
http::Response get_roles(RequestContext& ctx);
http::Response list_assigned_roles(RequestContext& ctx, const std::string& kind);
http::Response assign_role(RequestContext& ctx, const std::string& kind);
http::Response get_assigned_role(RequestContext& ctx, const std::string& kind);
http::Response remove_assigned_role(RequestContext& ctx, const std::string& kind);

// system_accounts.cpp
http::Response list_accounts(RequestContext& ctx);
http::Response create_account(RequestContext& ctx);
http::Response get_account(RequestContext& ctx);
http::Response update_account(RequestContext& ctx);
http::Response delete_account(RequestContext& ctx);
http::Response list_account_tokens(RequestContext& ctx);
http::Response create_account_token(RequestContext& ctx);
http::Response get_account_token(RequestContext& ctx);
http::Response update_account_token(RequestContext& ctx);
http::Response delete_account_token(RequestContext& ctx);

// tokens.cpp (personal access tokens)
http::Response list_user_tokens(RequestContext& ctx);
http::Response create_user_token(RequestContext& ctx);
http::Response get_user_token(RequestContext& ctx);
http::Response update_user_token(RequestContext& ctx);
http::Response delete_user_token(RequestContext& ctx);
http::Response revoke_user_token(RequestContext& ctx);

// organizations
http::Response get_my_organization(RequestContext& ctx);

}  // namespace ok::api::identity
