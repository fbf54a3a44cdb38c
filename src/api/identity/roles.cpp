// GET /v3/roles and the assigned roles of users, teams and system accounts.

#include "api/identity/common.hpp"
#include "api/identity/handlers.hpp"
#include "api/identity/role_catalog.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ok::api::identity {
namespace {

namespace bj = boost::json;
using auth::Verb;
using schema::Field;
using schema::Kind;

std::string entity_id_problem(std::string_view id) {
  return id == "*" || schema::is_uuid(id) ? std::string() : "must be a UUID or [*]";
}

const schema::ObjectSchema& assign_schema() {
  static const schema::ObjectSchema s{
      {Field{.name = "role_name", .kind = Kind::enumeration, .required = true, .choices = assignable_role_names()},
       Field{.name = "entity_type_name", .kind = Kind::enumeration, .required = true,
             .choices = assignable_entity_types()},
       Field{.name = "entity_id", .kind = Kind::string, .required = true, .check = entity_id_problem},
       Field{.name = "entity_region", .kind = Kind::enumeration, .required = true, .choices = kEntityRegions},
       Field{.name = "id", .read_only = true}},
      false};
  return s;
}

const ListSpec& assigned_list_spec(const std::string& kind) {
  static const ListSpec principal{.filters = {{"entity_id", FilterKind::string, {"eq"}, {}},
                                              {"role_name", FilterKind::string, {"eq"}, {}},
                                              {"entity_type_name", FilterKind::string, {"eq"}, {}}}};
  static const ListSpec team{.filters = {{"role_name", FilterKind::string, {"eq"}, {}},
                                         {"entity_type_name", FilterKind::string, {"eq"}, {}}}};
  return kind == "team" ? team : principal;
}

// The principal named by the path, checked for existence in the caller's organization; the
// caller may always read its own assignments.
std::string load_principal(RequestContext& ctx, const std::string& kind, bool& is_self) {
  if (kind == "user") {
    auto u = load_user(ctx);
    is_self = is_caller(ctx, store::PrincipalKind::user, u.id);
    return u.id;
  }
  if (kind == "team") {
    auto t = load_team(ctx);
    is_self = ctx.store().is_team_member(ctx.org(), t.id, ctx.principal().kind_name(), ctx.principal().id);
    return t.id;
  }
  auto a = load_account(ctx);
  is_self = is_caller(ctx, store::PrincipalKind::system_account, a.id);
  return a.id;
}

}  // namespace

http::Response get_roles(RequestContext&) { return json_response(200, roles_document()); }

http::Response list_assigned_roles(RequestContext& ctx, const std::string& kind) {
  bool is_self = false;
  const auto principal_id = load_principal(ctx, kind, is_self);
  if (!is_self) require(ctx, Verb::read);
  const auto q = parse_list_query(ctx.request().query, assigned_list_spec(kind));
  store::RoleAssignmentQuery query;
  for (const auto& f : q.filters) {
    auto& target = f.field == "entity_id" ? query.entity_id : f.field == "role_name" ? query.role_name : query.entity_type_name;
    target.push_back(f.values.front());
  }
  auto all = ctx.store().list_role_assignments(ctx.org(), kind, principal_id, query);
  const auto total = static_cast<std::int64_t>(all.size());
  bj::array data;
  const auto first = std::min<std::size_t>(all.size(), static_cast<std::size_t>((q.page_number - 1) * q.page_size));
  const auto last = std::min<std::size_t>(all.size(), first + static_cast<std::size_t>(q.page_size));
  for (auto i = first; i < last; ++i) data.push_back(role_json(all[i]));
  return json_response(200, page_envelope(q, total, std::move(data)));
}

http::Response assign_role(RequestContext& ctx, const std::string& kind) {
  bool is_self = false;
  const auto principal_id = load_principal(ctx, kind, is_self);
  require(ctx, Verb::update);
  auto body = ctx.validated_body(assign_schema(), schema::Mode::create);
  store::RoleAssignment r;
  r.id = util::new_uuid();
  r.org_id = ctx.org().str();
  r.principal_kind = kind;
  r.principal_id = principal_id;
  r.role_name = std::string(body.at("role_name").as_string());
  r.entity_type_name = std::string(body.at("entity_type_name").as_string());
  r.entity_id = std::string(body.at("entity_id").as_string());
  r.entity_region = std::string(body.at("entity_region").as_string());
  const auto valid = roles_for_entity_type(r.entity_type_name);
  if (std::find(valid.begin(), valid.end(), r.role_name) == valid.end()) {
    errors::InvalidParameter p{.field = "role_name", .rule = errors::Rule::enum_,
                               .reason = fmt::format("[{}] is not a role of [{}]", r.role_name, r.entity_type_name)};
    for (const auto& v : valid) p.choices.emplace_back(v);
    throw errors::ApiError::bad_request(std::move(p), "Invalid request body.");
  }
  try {
    ctx.store().insert_role_assignment(r);
  } catch (const store::ConflictError&) {
    throw errors::ApiError::conflict(
        fmt::format("Role [{}] on [{}] is already assigned.", r.role_name, r.entity_type_name));
  }
  return json_response(201, role_json(r));
}

http::Response get_assigned_role(RequestContext& ctx, const std::string& kind) {
  const auto& role_id = ctx.path_id("roleId");  // every path id is checked before any lookup
  bool is_self = false;
  const auto principal_id = load_principal(ctx, kind, is_self);
  auto r = ctx.store().get_role_assignment(ctx.org(), kind, principal_id, role_id);
  if (!r) throw errors::ApiError::not_found("The requested role assignment was not found.");
  if (!is_self) require(ctx, Verb::read);
  return json_response(200, role_json(*r));
}

http::Response remove_assigned_role(RequestContext& ctx, const std::string& kind) {
  const auto& role_id = ctx.path_id("roleId");  // every path id is checked before any lookup
  bool is_self = false;
  const auto principal_id = load_principal(ctx, kind, is_self);
  if (!ctx.store().get_role_assignment(ctx.org(), kind, principal_id, role_id)) {
    throw errors::ApiError::not_found("The requested role assignment was not found.");
  }
  require(ctx, Verb::update);
  if (!ctx.store().delete_role_assignment(ctx.org(), kind, principal_id, role_id)) {
    throw errors::ApiError::not_found("The requested role assignment was not found.");
  }
  return empty_response(204);
}

}  // namespace ok::api::identity
