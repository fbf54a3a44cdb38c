// Teams and their members (users and system accounts).

#include "api/identity/common.hpp"
#include "api/identity/handlers.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

namespace ok::api::identity {
namespace {

namespace bj = boost::json;
using auth::Verb;
using schema::Field;
using schema::Kind;

const ListSpec& team_list_spec() {
  static const ListSpec spec{.filters = {{"name", FilterKind::string, {"eq", "contains"}, {}},
                                         {"labels.*", FilterKind::string, {"eq", "contains", "exists"}, {}}}};
  return spec;
}

std::vector<Field> team_fields(bool create) {
  return {
      Field{.name = "name", .kind = Kind::string, .required = create, .min_length = 1, .max_length = 250},
      Field{.name = "description", .kind = Kind::string, .nullable = !create, .min_length = 1, .max_length = 250},
      Field{.name = "labels", .kind = Kind::labels, .nullable = !create, .max_items = 50},
      Field{.name = "id", .read_only = true},
      Field{.name = "system_team", .read_only = true},
      Field{.name = "created_at", .read_only = true},
      Field{.name = "updated_at", .read_only = true},
  };
}

const schema::ObjectSchema& create_team_schema() {
  static const schema::ObjectSchema s{team_fields(true), true};
  return s;
}

const schema::ObjectSchema& update_team_schema() {
  static const schema::ObjectSchema s{team_fields(false), true};
  return s;
}

const schema::ObjectSchema& member_schema() {
  static const schema::ObjectSchema s{{Field{.name = "id", .kind = Kind::uuid, .required = true}}, true};
  return s;
}

[[noreturn]] void system_team_unmodifiable() {
  throw errors::ApiError::bad_request(
      errors::InvalidParameter{.field = "teamID", .rule = errors::Rule::invalid, .reason = "system teams cannot be modified"},
      "System teams cannot be modified.");
}

bool caller_is_member(RequestContext& ctx, const std::string& team_id) {
  return ctx.store().is_team_member(ctx.org(), team_id, ctx.principal().kind_name(), ctx.principal().id);
}

http::Response teams_page(RequestContext& ctx, const ListSpec& spec,
                          std::optional<std::pair<std::string, std::string>> member) {
  const auto q = parse_list_query(ctx.request().query, spec);
  store::TeamQuery query;
  query.page = {q.page_size, q.page_number};
  query.member = std::move(member);
  for (const auto& f : q.filters) {
    if (f.field == "name") {
      (f.op == "eq" ? query.name.eq : query.name.contains).push_back(f.values.front());
    } else if (f.field.starts_with("labels.")) {
      const std::string key = f.field.substr(7);
      if (f.op == "eq") query.label_eq.emplace_back(key, f.values.front());
      if (f.op == "contains") query.label_contains.emplace_back(key, f.values.front());
      if (f.op == "exists" && f.values.front() != "false") query.label_exists.push_back(key);
    }
  }
  if (!query.member && !can(ctx, Verb::read)) {
    // Without identity read access a principal sees the teams it belongs to.
    query.member = std::make_pair(ctx.principal().kind_name(), ctx.principal().id);
  }
  auto page = ctx.store().list_teams(ctx.org(), query);
  bj::array data;
  for (const auto& t : page.items) data.push_back(team_json(t));
  return json_response(200, page_envelope(q, page.total, std::move(data)));
}

// Adds a user or system account to a team: 404 for an unknown team or member, 403, then
// 400 for the body, 409 when already a member.
http::Response add_member(RequestContext& ctx, const std::string& kind) {
  auto team = load_team(ctx);
  require(ctx, Verb::update);
  auto body = ctx.validated_body(member_schema(), schema::Mode::create);
  const std::string member_id(body.at("id").as_string());
  const bool exists = kind == "user" ? ctx.store().get_user(ctx.org(), member_id).has_value()
                                     : ctx.store().get_system_account(ctx.org(), member_id).has_value();
  if (!exists) {
    throw errors::ApiError::not_found(kind == "user" ? "The requested user was not found."
                                                     : "The requested system account was not found.");
  }
  try {
    ctx.store().add_team_member(ctx.org(), team.id, kind, member_id, util::now_ms());
  } catch (const store::ConflictError&) {
    throw errors::ApiError::conflict(kind == "user" ? "The user is already a member of the team."
                                                    : "The system account is already a member of the team.");
  }
  return empty_response(201);
}

http::Response remove_member(RequestContext& ctx, const std::string& kind, std::string_view param) {
  const auto& member_id = ctx.path_id(param);  // every path id is checked before any lookup
  auto team = load_team(ctx);
  require(ctx, Verb::update);
  try {
    if (!ctx.store().remove_team_member(ctx.org(), team.id, kind, member_id, organization_admin_team_id(ctx))) {
      throw errors::ApiError::not_found(kind == "user" ? "The user is not a member of the team."
                                                       : "The system account is not a member of the team.");
    }
  } catch (const store::InvariantError&) {
    throw errors::ApiError::conflict("The last member of the [Organization Admin] team cannot be removed.");
  }
  return empty_response(204);
}

}  // namespace

http::Response list_teams(RequestContext& ctx) { return teams_page(ctx, team_list_spec(), std::nullopt); }

http::Response create_team(RequestContext& ctx) {
  require(ctx, Verb::create);
  auto body = ctx.validated_body(create_team_schema(), schema::Mode::create);
  store::Team team;
  team.id = util::new_uuid();
  team.org_id = ctx.org().str();
  team.name = std::string(body.at("name").as_string());
  if (auto* v = body.if_contains("description")) team.description = std::string(v->as_string());
  if (auto* v = body.if_contains("labels")) merge_labels(team.labels, v->as_object(), true);
  team.created_at = team.updated_at = util::now_ms();
  ctx.store().insert_team(team);
  return json_response(201, team_json(team));
}

http::Response get_team(RequestContext& ctx) {
  auto team = load_team(ctx);
  if (!caller_is_member(ctx, team.id)) require(ctx, Verb::read);
  return json_response(200, team_json(team));
}

http::Response update_team(RequestContext& ctx) {
  auto team = load_team(ctx);
  require(ctx, Verb::update);
  if (team.system_team) system_team_unmodifiable();
  auto body = ctx.validated_body(update_team_schema(), schema::Mode::update);
  auto updated = ctx.store().modify_team(ctx.org(), team.id, [&](store::Team& t) {
    if (auto* v = body.if_contains("name")) t.name = std::string(v->as_string());
    if (auto* v = body.if_contains("description")) {
      t.description = v->is_null() ? std::nullopt : std::optional<std::string>(std::string(v->as_string()));
    }
    if (auto* v = body.if_contains("labels")) {
      if (v->is_null()) {
        t.labels.clear();
      } else {
        merge_labels(t.labels, v->as_object(), false);
      }
    }
    if (t.labels.size() > 50) {
      throw errors::ApiError::bad_request(
          errors::InvalidParameter{.field = "labels", .rule = errors::Rule::max_items,
                                   .reason = "must have at most 50 labels", .limit = 50},
          "Invalid request body.");
    }
    t.updated_at = util::now_ms();
  });
  if (!updated) throw errors::ApiError::not_found("The requested team was not found.");
  return json_response(200, team_json(*updated));
}

http::Response delete_team(RequestContext& ctx) {
  auto team = load_team(ctx);
  require(ctx, Verb::remove);
  if (team.system_team) system_team_unmodifiable();
  if (!ctx.store().delete_team(ctx.org(), team.id)) throw errors::ApiError::not_found("The requested team was not found.");
  return empty_response(204);
}

http::Response list_team_users(RequestContext& ctx) {
  auto team = load_team(ctx);
  if (!caller_is_member(ctx, team.id)) require(ctx, Verb::read);
  return list_users_page(ctx, team.id);
}

http::Response add_team_user(RequestContext& ctx) { return add_member(ctx, "user"); }
http::Response remove_team_user(RequestContext& ctx) { return remove_member(ctx, "user", "userId"); }

http::Response list_team_accounts(RequestContext& ctx) {
  auto team = load_team(ctx);
  if (!caller_is_member(ctx, team.id)) require(ctx, Verb::read);
  const auto q = parse_list_query(ctx.request().query, name_list_spec());
  store::SystemAccountQuery query;
  query.page = {q.page_size, q.page_number};
  query.team_id = team.id;
  for (const auto& f : q.filters) (f.op == "eq" ? query.name.eq : query.name.contains).push_back(f.values.front());
  auto page = ctx.store().list_system_accounts(ctx.org(), query);
  bj::array data;
  for (const auto& a : page.items) data.push_back(account_json(a));
  return json_response(200, page_envelope(q, page.total, std::move(data)));
}

http::Response add_team_account(RequestContext& ctx) { return add_member(ctx, "system_account"); }
http::Response remove_team_account(RequestContext& ctx) { return remove_member(ctx, "system_account", "accountId"); }

http::Response list_user_teams(RequestContext& ctx) {
  auto user = load_user(ctx);
  if (!is_caller(ctx, store::PrincipalKind::user, user.id)) require(ctx, Verb::read);
  return teams_page(ctx, name_list_spec(), std::make_pair(std::string("user"), user.id));
}

http::Response list_account_teams(RequestContext& ctx) {
  auto account = load_account(ctx);
  if (!is_caller(ctx, store::PrincipalKind::system_account, account.id)) require(ctx, Verb::read);
  return teams_page(ctx, name_list_spec(), std::make_pair(std::string("system_account"), account.id));
}

}  // namespace ok::api::identity
