// Users, invitations and /users/me.

#include "api/identity/common.hpp"
#include "api/identity/handlers.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>

namespace ok::api::identity {
namespace {

namespace bj = boost::json;
using auth::Verb;
using schema::Field;
using schema::Kind;

const ListSpec& user_list_spec() {
  static const ListSpec spec{.filters = {{"id", FilterKind::uuid, {"eq"}, {}},
                                         {"email", FilterKind::string, {"eq", "contains"}, {}},
                                         {"full_name", FilterKind::string, {"eq", "contains"}, {}},
                                         {"active", FilterKind::boolean, {"eq"}, {}}}};
  return spec;
}

std::string email_problem(std::string_view email) {
  const auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 >= email.size() || email.find('@', at + 1) != std::string_view::npos ||
      email.find_first_of(" \t\r\n<>()[]\\,;:\"") != std::string_view::npos || email.find('.', at) == std::string_view::npos) {
    return "must be a valid email address";
  }
  return {};
}

const schema::ObjectSchema& invite_schema() {
  static const schema::ObjectSchema s{
      {Field{.name = "email", .kind = Kind::string, .required = true, .min_length = 3, .max_length = 250,
             .check = email_problem}},
      true};
  return s;
}

const schema::ObjectSchema& update_user_schema() {
  static const schema::ObjectSchema s{{
                                          Field{.name = "full_name", .kind = Kind::string, .min_length = 1, .max_length = 250},
                                          Field{.name = "preferred_name", .kind = Kind::string, .max_length = 250},
                                          Field{.name = "id", .read_only = true},
                                          Field{.name = "email", .read_only = true},
                                          Field{.name = "active", .read_only = true},
                                          Field{.name = "created_at", .read_only = true},
                                          Field{.name = "updated_at", .read_only = true},
                                      },
                                      true};
  return s;
}

void fill_user_filters(store::UserQuery& query, const ListQuery& q) {
  for (const auto& f : q.filters) {
    if (f.field == "id") {
      query.id_eq.push_back(f.values.front());
    } else if (f.field == "email") {
      (f.op == "eq" ? query.email.eq : query.email.contains).push_back(normalize_email(f.values.front()));
    } else if (f.field == "full_name") {
      (f.op == "eq" ? query.full_name.eq : query.full_name.contains).push_back(f.values.front());
    } else if (f.field == "active") {
      query.active = f.values.front() == "true";
    }
  }
}

}  // namespace

http::Response list_users_page(RequestContext& ctx, const std::optional<std::string>& team_id) {
  const auto q = parse_list_query(ctx.request().query, user_list_spec());
  store::UserQuery query;
  query.page = {q.page_size, q.page_number};
  query.team_id = team_id;
  fill_user_filters(query, q);
  if (!can(ctx, Verb::read)) {
    // Without identity read access a user sees only themselves.
    query.visible_ids = std::vector<std::string>{};
    if (ctx.principal().is_user()) query.visible_ids->push_back(ctx.principal().id);
  }
  auto page = ctx.store().list_users(ctx.org(), query);
  bj::array data;
  for (const auto& u : page.items) data.push_back(user_json(u));
  return json_response(200, page_envelope(q, page.total, std::move(data)));
}

http::Response list_users(RequestContext& ctx) { return list_users_page(ctx, std::nullopt); }

http::Response get_user(RequestContext& ctx) {
  auto user = load_user(ctx);
  if (!is_caller(ctx, store::PrincipalKind::user, user.id)) require(ctx, Verb::read);
  return json_response(200, user_json(user));
}

http::Response update_user(RequestContext& ctx) {
  auto user = load_user(ctx);
  if (!is_caller(ctx, store::PrincipalKind::user, user.id)) require(ctx, Verb::update);
  auto body = ctx.validated_body(update_user_schema(), schema::Mode::update);
  auto updated = ctx.store().modify_user(ctx.org(), user.id, [&](store::User& u) {
    if (auto* v = body.if_contains("full_name")) u.full_name = std::string(v->as_string());
    if (auto* v = body.if_contains("preferred_name")) u.preferred_name = std::string(v->as_string());
    u.updated_at = util::now_ms();
  });
  if (!updated) throw errors::ApiError::not_found("The requested user was not found.");
  return json_response(200, user_json(*updated));
}

http::Response delete_user(RequestContext& ctx) {
  auto user = load_user(ctx);
  require(ctx, Verb::remove);
  try {
    if (!ctx.store().delete_user(ctx.org(), user.id, organization_admin_team_id(ctx))) {
      throw errors::ApiError::not_found("The requested user was not found.");
    }
  } catch (const store::InvariantError&) {
    throw errors::ApiError::conflict(
        "The user is the last member of the [Organization Admin] team and cannot be deleted.");
  }
  return empty_response(204);
}

http::Response get_me(RequestContext& ctx) {
  if (!ctx.principal().is_user()) {
    throw errors::ApiError::forbidden("Only personal access tokens can call [/v3/users/me].");
  }
  const auto& id = ctx.principal().id;
  auto item = ctx.caches().users.get(
      ctx.org().str(), id, [&] { return ctx.store().get_user(ctx.org(), id); },
      [](const store::User& u) { return boost::json::serialize(user_json(u)); });
  if (!item) throw errors::ApiError::not_found("The requested user was not found.");
  http::Response r;
  r.body = item->json;
  return r;
}

http::Response invite(RequestContext& ctx) {
  ctx.spend(ctx.settings().rate_limits.invites, ctx.org().str());
  require(ctx, Verb::create);
  auto body = ctx.validated_body(invite_schema(), schema::Mode::create);
  const std::string email = normalize_email(body.at("email").as_string());
  if (auto existing = ctx.store().find_user_by_email(ctx.org(), email)) {
    if (existing->active) throw errors::ApiError::conflict(fmt::format("User [{}] is already active.", email));
    return empty_response(201);  // a fresh invitation for a pending user
  }
  store::User user;
  user.id = util::new_uuid();
  user.org_id = ctx.org().str();
  user.email = email;
  user.active = false;  // becomes active with the first access token created for it
  user.created_at = user.updated_at = util::now_ms();
  try {
    ctx.store().insert_user(user);
  } catch (const store::ConflictError&) {
    // A concurrent invitation for the same email won the race: the user exists and is pending.
  }
  return empty_response(201);
}

}  // namespace ok::api::identity
