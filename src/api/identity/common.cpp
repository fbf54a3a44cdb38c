#include "api/identity/common.hpp"

#include "api/identity/system_teams.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <algorithm>
#include <cctype>

namespace ok::api::identity {

namespace bj = boost::json;

bj::object user_json(const store::User& u) {
  bj::object o{{"id", u.id}, {"email", u.email}};
  // Names are optional, and the spec's pattern for full_name does not admit an empty one:
  // a user who has not set them has none.
  if (!u.full_name.empty()) o["full_name"] = u.full_name;
  if (!u.preferred_name.empty()) o["preferred_name"] = u.preferred_name;
  o["active"] = u.active;
  o["created_at"] = util::format_rfc3339_ms(u.created_at);
  o["updated_at"] = util::format_rfc3339_ms(u.updated_at);
  return o;
}

bj::object team_json(const store::Team& t) {
  bj::object labels;
  for (const auto& [k, v] : t.labels) labels[k] = v;
  bj::object o{{"id", t.id}, {"name", t.name}};
  if (t.description) {
    o["description"] = *t.description;
  } else {
    o["description"] = nullptr;
  }
  o["system_team"] = t.system_team;
  o["labels"] = std::move(labels);
  o["created_at"] = util::format_rfc3339_ms(t.created_at);
  o["updated_at"] = util::format_rfc3339_ms(t.updated_at);
  return o;
}

bj::object account_json(const store::SystemAccount& a) {
  return {{"id", a.id},
          {"name", a.name},
          {"description", a.description},
          {"created_at", util::format_rfc3339_ms(a.created_at)},
          {"updated_at", util::format_rfc3339_ms(a.updated_at)},
          {"konnect_managed", a.konnect_managed}};
}

bj::object role_json(const store::RoleAssignment& r) {
  return {{"id", r.id},
          {"role_name", r.role_name},
          {"entity_id", r.entity_id},
          {"entity_type_name", r.entity_type_name},
          {"entity_region", r.entity_region}};
}

const ListSpec& name_list_spec() {
  static const ListSpec spec{.filters = {{"name", FilterKind::string, {"eq", "contains"}, {}}}};
  return spec;
}

bj::object page_envelope(const ListQuery& q, std::int64_t total, bj::array data) {
  return {{"meta", bj::object{{"page", bj::object{{"number", q.page_number}, {"size", q.page_size}, {"total", total}}}}},
          {"data", std::move(data)}};
}

store::User load_user(RequestContext& ctx, std::string_view param) {
  auto user = ctx.store().get_user(ctx.org(), ctx.path_id(param));
  if (!user) throw errors::ApiError::not_found("The requested user was not found.");
  return std::move(*user);
}

store::Team load_team(RequestContext& ctx, std::string_view param) {
  auto team = ctx.store().get_team(ctx.org(), ctx.path_id(param));
  if (!team) throw errors::ApiError::not_found("The requested team was not found.");
  return std::move(*team);
}

store::SystemAccount load_account(RequestContext& ctx, std::string_view param) {
  auto account = ctx.store().get_system_account(ctx.org(), ctx.path_id(param));
  if (!account) throw errors::ApiError::not_found("The requested system account was not found.");
  return std::move(*account);
}

bool can(RequestContext& ctx, auth::Verb verb) {
  return auth::decide(ctx.roles(), {auth::kIdentity, verb, {}}).allowed;
}

void require(RequestContext& ctx, auth::Verb verb) { ctx.authorize({auth::kIdentity, verb, {}}); }

bool is_caller(RequestContext& ctx, store::PrincipalKind kind, const std::string& id) {
  return ctx.principal().kind == kind && ctx.principal().id == id;
}

std::string normalize_email(std::string_view email) {
  std::string out(email);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string organization_admin_team_id(RequestContext& ctx) {
  auto team = ctx.store().find_team_by_name(ctx.org(), std::string(kOrganizationAdminTeam));
  return team && team->system_team ? team->id : std::string();
}

void merge_labels(std::vector<std::pair<std::string, std::string>>& labels, const bj::object& update, bool replace) {
  if (replace) labels.clear();
  for (const auto& [key, value] : update) {
    auto it = std::find_if(labels.begin(), labels.end(), [&wanted = key](const auto& l) { return l.first == wanted; });
    if (value.is_null()) {
      if (it != labels.end()) labels.erase(it);
    } else if (it != labels.end()) {
      it->second = std::string(value.as_string());
    } else {
      labels.emplace_back(std::string(key), std::string(value.as_string()));
    }
  }
  std::sort(labels.begin(), labels.end());
}

}  // namespace ok::api::identity
