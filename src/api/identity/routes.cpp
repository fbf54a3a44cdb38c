#include "api/identity/routes.hpp"

#include "api/app.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "util/ids.hpp"

#include <boost/json/object.hpp>

namespace ok::api::identity {
namespace {

namespace bj = boost::json;

bj::object user_json(const store::User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"full_name", u.full_name},
          {"preferred_name", u.preferred_name},
          {"active", u.active},
          {"created_at", util::format_rfc3339_ms(u.created_at)},
          {"updated_at", util::format_rfc3339_ms(u.updated_at)}};
}

bj::object organization_json(const store::Organization& o) {
  return {{"id", o.id},
          {"name", o.name},
          {"owner_id", o.owner_id},
          {"login_path", o.login_path},
          {"created_at", util::format_rfc3339_ms(o.created_at)},
          {"updated_at", util::format_rfc3339_ms(o.updated_at)},
          {"state", o.state},
          {"retention_period_days", o.retention_period_days}};
}

http::Response get_me(RequestContext& ctx) {
  if (!ctx.principal().is_user()) {
    throw errors::ApiError::forbidden("Only personal access tokens can call [/v3/users/me].");
  }
  auto user = ctx.store().get_user(ctx.org(), ctx.principal().id);
  if (!user) throw errors::ApiError::not_found("The requested user was not found.");
  return json_response(200, user_json(*user));
}

http::Response get_my_organization(RequestContext& ctx) {
  auto org = ctx.store().get_organization(ctx.org());
  if (!org) throw errors::ApiError::not_found("The requested organization was not found.");
  return json_response(200, organization_json(*org));
}

}  // namespace

void register_routes(App& app) {
  app.route("GET", "/v3/users/me", get_me);
  app.route("GET", "/v3/organizations/me", get_my_organization);
}

}  // namespace ok::api::identity
