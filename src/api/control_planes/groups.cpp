// Control plane groups: memberships, member status and group status.

#include "api/control_planes/groups.hpp"

#include "api/config/export.hpp"
#include "api/control_planes/control_plane.hpp"
#include "api/responses.hpp"
#include "cluster/hub.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <charconv>
#include <set>

namespace ok::api::control_planes {
namespace {

namespace bj = boost::json;
using auth::Verb;
using schema::Field;
using schema::Kind;

constexpr std::string_view kGroupType = "CLUSTER_TYPE_CONTROL_PLANE_GROUP";
constexpr std::string_view kIngressType = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER";
constexpr std::int64_t kMaxMembersPerCall = 50;

const schema::ObjectSchema& member_schema() {
  static const schema::ObjectSchema s{{Field{.name = "id", .kind = Kind::string, .required = true}}, false};
  return s;
}

const schema::ObjectSchema& membership_schema() {
  static const schema::ObjectSchema s{{Field{.name = "members", .kind = Kind::array, .required = true,
                                             .max_items = kMaxMembersPerCall, .object = &member_schema(),
                                             .items = Kind::object}},
                                      false};
  return s;
}

// The control plane, which must be a group (checked after permission, before the body).
store::ControlPlane load_group(const store::ControlPlane& cp) {
  if (cp.cluster_type != kGroupType) {
    throw errors::ApiError::bad_request(
        errors::InvalidParameter{.field = "controlPlaneId", .rule = errors::Rule::invalid,
                                 .reason = "control plane is not a control plane group", .source = errors::Source::path},
        fmt::format("Control plane [{}] is not a control plane group.", cp.name));
  }
  return cp;
}

// The member ids of a membership body, each checked: an existing control plane of the
// organization, not a group, not a Kubernetes ingress controller, not the group itself.
std::vector<std::string> member_ids(RequestContext& ctx, const store::ControlPlane& group, bool for_removal) {
  auto body = ctx.validated_body(membership_schema(), schema::Mode::create);
  const auto& members = body.at("members").as_array();
  std::vector<std::string> ids;
  for (const auto& m : members) ids.emplace_back(m.at("id").as_string());
  errors::InvalidParameters problems;
  std::vector<std::string> lookup;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!schema::is_uuid(ids[i])) {
      problems.push_back({.field = fmt::format("members[{}].id", i), .rule = errors::Rule::is_uuid,
                          .reason = "must be a valid UUID"});
    } else {
      lookup.push_back(ids[i]);
    }
  }
  if (!for_removal) {
    auto found = ctx.store().find_control_planes(ctx.org(), lookup);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (!schema::is_uuid(ids[i])) continue;
      const std::string field = fmt::format("members[{}].id", i);
      auto it = std::find_if(found.begin(), found.end(), [&](const auto& cp) { return cp.id == ids[i]; });
      if (it == found.end()) {
        problems.push_back({.field = field, .rule = errors::Rule::missing_reference,
                            .reason = fmt::format("control plane [{}] does not exist", ids[i])});
      } else if (it->id == group.id || it->cluster_type == kGroupType) {
        problems.push_back({.field = field, .rule = errors::Rule::invalid,
                            .reason = "a control plane group cannot be a member of a group"});
      } else if (it->cluster_type == kIngressType) {
        problems.push_back({.field = field, .rule = errors::Rule::invalid,
                            .reason = "a Kubernetes ingress controller control plane cannot be a member of a group"});
      }
    }
  }
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems), "Invalid group members.");
  if (!for_removal) {
    // Joining a group exposes a control plane to the group's readers: the caller must be
    // able to administer every member it adds, not only the group.
    for (const auto& id : ids) ctx.authorize({auth::kControlPlanes, Verb::update, id});
  }
  std::vector<std::string> unique;
  std::set<std::string> seen;
  for (auto& id : ids) {
    if (seen.insert(id).second) unique.push_back(std::move(id));
  }
  return unique;
}

void apply_change(RequestContext& ctx, const store::ControlPlane& group, store::MembershipChange change,
                  const std::vector<std::string>& ids) {
  try {
    ctx.store().change_group_members(ctx.org(), group.id, change, ids, util::now_ms());
    // The group's configuration is its members': its data planes get the new merge.
    if (auto* hub = ctx.hub()) hub->changed(ctx.org(), group.id);
  } catch (const store::InvariantError& e) {
    const auto& rule = e.rule();
    if (rule == "group_missing") throw errors::ApiError::not_found("The requested control plane was not found.");
    if (rule == "group_full") {
      throw errors::ApiError::conflict(
          fmt::format("A control plane group can have at most [{}] members.", store::kMaxGroupMembers));
    }
    if (rule.starts_with("member_group_limit:")) {
      throw errors::ApiError::conflict(fmt::format("Control plane [{}] already belongs to [{}] groups.",
                                                   rule.substr(19), store::kMaxGroupsPerMember));
    }
    if (rule.starts_with("missing_reference:")) {
      const auto id = rule.substr(18);
      std::size_t index = 0;
      while (index < ids.size() && ids[index] != id) ++index;
      throw errors::ApiError::bad_request(
          errors::InvalidParameter{.field = fmt::format("members[{}].id", index), .rule = errors::Rule::missing_reference,
                                   .reason = fmt::format("control plane [{}] does not exist", id)},
          "Invalid group members.");
    }
    throw;
  }
}

}  // namespace

http::Response list_memberships(RequestContext& ctx, store::ControlPlane cp) {
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  auto group = load_group(cp);
  std::int64_t size = 100;
  std::string after;
  errors::InvalidParameters problems;
  for (const auto& [key, value] : ctx.request().query) {
    if (key == "page[size]" && !value.empty()) {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size()) {
        problems.push_back({.field = key, .rule = errors::Rule::is_integer, .reason = "must be an integer", .source = errors::Source::query});
      } else if (n < 1) {
        problems.push_back({.field = key, .rule = errors::Rule::min, .reason = "must be at least 1", .source = errors::Source::query, .limit = 1});
      } else if (n > 1000) {
        problems.push_back({.field = key, .rule = errors::Rule::max, .reason = "must be at most 1000", .source = errors::Source::query, .limit = 1000});
      } else {
        size = n;
      }
    } else if (key == "page[after]" && !value.empty()) {
      std::string decoded;
      bj::error_code ec;
      bj::value cursor;
      if (util::base64url_decode(value, decoded)) cursor = bj::parse(decoded, ec);
      const auto* id = (!ec && cursor.is_object()) ? cursor.as_object().if_contains("id") : nullptr;
      if (!id || !id->is_string() || !schema::is_uuid(id->as_string())) {
        problems.push_back({.field = key, .rule = errors::Rule::invalid, .reason = "is not a valid cursor", .source = errors::Source::query});
      } else {
        after = std::string(id->as_string());
      }
    }
  }
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems), "Invalid query parameters.");

  auto page = ctx.store().list_group_members(ctx.org(), group.id, after, size + 1);
  const bool more = static_cast<std::int64_t>(page.items.size()) > size;
  if (more) page.items.pop_back();
  bj::array data;
  for (const auto& member : page.items) data.push_back(to_json(member, ctx.settings()));
  bj::object meta{{"size", size}};
  if (more) {
    const auto cursor = util::base64url_encode(bj::serialize(bj::object{{"id", page.items.back().id}}));
    // Relative to the version root, as the spec's examples are (clients prefix their base URL).
    meta["next"] = fmt::format("/control-planes/{}/group-memberships?page[size]={}&page[after]={}", group.id, size, cursor);
  } else {
    meta["next"] = nullptr;
  }
  if (after.empty()) meta["total"] = page.total;  // the spec shows total on the first page only
  return json_response(200, bj::object{{"meta", bj::object{{"page", std::move(meta)}}}, {"data", std::move(data)}});
}

http::Response change_memberships(RequestContext& ctx, store::ControlPlane cp, store::MembershipChange change) {
  ctx.authorize({auth::kControlPlanes, Verb::update, cp.id});
  auto group = load_group(cp);
  const auto ids = member_ids(ctx, group, change == store::MembershipChange::remove);
  apply_change(ctx, group, change, ids);
  return empty_response(204);
}

http::Response member_status(RequestContext& ctx, store::ControlPlane cp) {
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  return json_response(200, bj::object{{"is_member", ctx.store().is_group_member(ctx.org(), cp.id)}});
}

http::Response group_status(RequestContext& ctx, store::ControlPlane cp) {
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  auto group = load_group(cp);
  // Conflicts are found where the group's configuration is merged for its data planes.
  bj::array conflicts;
  if (auto* hub = ctx.hub()) {
    conflicts = hub->current(group).conflicts;
  } else {
    conflicts = config::render_configuration(ctx.store(), group).conflicts;
  }
  const bool ok = conflicts.empty();
  return json_response(200, bj::object{{"item", bj::object{{"id", group.id},
                                                           {"created_at", util::format_rfc3339_ms(group.created_at)},
                                                           {"updated_at", util::format_rfc3339_ms(group.updated_at)},
                                                           {"state", ok ? "OK" : "CONFLICT"},
                                                           {"conflicts", std::move(conflicts)}}}});
}

}  // namespace ok::api::control_planes
