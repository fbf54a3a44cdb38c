#include "api/control_planes/routes.hpp"

#include "api/app.hpp"
#include "api/control_planes/control_plane.hpp"
#include "api/control_planes/groups.hpp"
#include "api/list_query.hpp"
#include "api/responses.hpp"
#include "cluster/hub.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

namespace ok::api::control_planes {
namespace {

namespace bj = boost::json;
using auth::Verb;

const char* const kNotFound = "The requested control plane was not found.";

const ListSpec& list_spec() {
  static const ListSpec spec{
      .filters = {{"id", FilterKind::uuid, {"eq", "oeq"}, {}},
                  {"name", FilterKind::string, {"eq", "neq", "contains"}, {}},
                  {"cluster_type",
                   FilterKind::enumeration,
                   {"eq", "neq", "oeq"},
                   {kClusterTypes.begin(), kClusterTypes.end()}},
                  {"cloud_gateway", FilterKind::boolean, {"eq"}, {}}},
      .sort_fields = {"created_at"},
      .labels = true,
  };
  return spec;
}

[[noreturn]] void name_conflict(const std::string& name) {
  throw errors::ApiError::conflict(fmt::format("Control plane with name [{}] already exists.", name));
}

// The control plane at {controlPlaneId}, in the caller's organization: 400 for a malformed
// id, then 404, before any permission check (the contract's order).
store::ControlPlane load(RequestContext& ctx) {
  const auto& id = ctx.path_id("controlPlaneId");
  auto cp = ctx.store().get_control_plane(ctx.org(), id);
  if (!cp) throw errors::ApiError::not_found(kNotFound);
  return std::move(*cp);
}

// The busiest write: checked here, on the I/O thread, and finished when the store's writer
// has made it durable, with no thread parked in between (see api::DeferredWrite).
DeferredWrite create(RequestContext& ctx) {
  ctx.authorize({auth::kControlPlanes, Verb::create, {}});
  auto body = ctx.validated_body(request_schema(), schema::Mode::create);
  auto cp = std::make_shared<store::ControlPlane>();
  cp->id = util::new_uuid();
  cp->org_id = ctx.org().str();
  apply(*cp, body);
  cp->created_at = cp->updated_at = util::now_ms();
  // The creator becomes Admin of what it creates, unless it already administers them all.
  std::vector<store::RoleAssignment> grants;
  if (!auth::decide(ctx.roles(), {auth::kControlPlanes, Verb::remove, cp->id}).allowed) {
    grants.push_back({util::new_uuid(), cp->org_id, ctx.principal().kind_name(), ctx.principal().id, "Admin",
                      std::string(auth::kControlPlanes), cp->id, "*"});
  }
  auto& store = ctx.store();
  const auto& settings = ctx.settings();
  return {
      [&store, cp, grants = std::move(grants)](store::WriteDone done) mutable {
        store.insert_control_plane_then(*cp, std::move(grants), std::move(done));
      },
      [cp, &settings](std::exception_ptr error) {
        if (error) {
          try {
            std::rethrow_exception(error);
          } catch (const store::ConflictError&) {
            name_conflict(cp->name);
          }
        }
        return json_response(201, to_json(*cp, settings));
      },
  };
}

// What a list answers depends on the organization's data, on which control planes the caller
// may read, and on the query: the cache key is the last two (the organization is the cache's
// own). Within one generation a principal's roles cannot change, so its id stands for them.
std::string page_cache_key(RequestContext& ctx, bool reads_all) {
  std::string key = reads_all ? std::string("*") : ctx.principal().kind_name() + ':' + ctx.principal().id;
  for (const auto& [name, value] : ctx.request().query) {
    // Length-prefixed, so no name or value can forge another key.
    key += fmt::format("\n{}:{}={}:{}", name.size(), name, value.size(), value);
  }
  return key;
}

std::string render_page(RequestContext& ctx, const ListQuery& q, bool reads_all) {
  store::ControlPlaneQuery query;
  query.page = {q.page_size, q.page_number};
  query.newest_first = q.sort_descending;
  for (const auto& f : q.filters) {
    if (f.field == "id") {
      query.id_in.push_back(f.values);
    } else if (f.field == "name") {
      auto& target = f.op == "eq" ? query.name_eq : f.op == "neq" ? query.name_neq : query.name_contains;
      target.push_back(f.values.front());
    } else if (f.field == "cluster_type") {
      if (f.op == "neq") {
        query.cluster_type_neq.push_back(f.values.front());
      } else {
        query.cluster_type_in.push_back(f.values);
      }
    } else if (f.field == "cloud_gateway") {
      query.cloud_gateway = f.values.front() == "true";
    }
  }
  query.labels = q.labels;
  if (!reads_all) query.visible_ids = auth::readable_ids(ctx.roles(), auth::kControlPlanes);
  auto page = ctx.store().list_control_planes(ctx.org(), query);
  bj::array data;
  for (const auto& cp : page.items) data.push_back(to_json(cp, ctx.settings()));
  return bj::serialize(bj::object{
      {"meta",
       bj::object{{"page", bj::object{{"number", q.page_number}, {"size", q.page_size}, {"total", page.total}}}}},
      {"data", std::move(data)}});
}

// Lists repeat (consoles and scripts poll them), so rendered pages are cached, exactly (see
// api/generation_cache.hpp), and a page in the cache is answered on the I/O thread.
struct PageLookup {
  ListQuery query;
  bool reads_all;
  std::string key;
};

PageLookup look_up_page(RequestContext& ctx) {
  auto query = parse_list_query(ctx.request().query, list_spec());
  const bool reads_all = auth::can_read_all(ctx.roles(), auth::kControlPlanes);
  return {std::move(query), reads_all, page_cache_key(ctx, reads_all)};
}

http::Response page_response(const std::string& body) {
  http::Response r;
  r.body = body;
  return r;
}

std::optional<http::Response> cached_list(RequestContext& ctx) {
  const auto page = look_up_page(ctx);
  auto body = ctx.caches().control_plane_pages.find(ctx.org().str(), page.key);
  if (!body) return std::nullopt;
  return page_response(*body);
}

http::Response list(RequestContext& ctx) {
  const auto page = look_up_page(ctx);
  auto body = ctx.caches().control_plane_pages.get(ctx.org().str(), page.key, [&] {
    return std::make_shared<const std::string>(render_page(ctx, page.query, page.reads_all));
  });
  return page_response(*body);
}

http::Response get(RequestContext& ctx) {
  // The hottest read of the API: served from a cache kept exact by the organization's
  // write generation (see api/entity_cache.hpp).
  const auto& id = ctx.path_id("controlPlaneId");
  auto item = ctx.caches().control_planes.get(
      ctx.org().str(), id, [&] { return ctx.store().get_control_plane(ctx.org(), id); },
      [&](const store::ControlPlane& cp) { return boost::json::serialize(to_json(cp, ctx.settings())); });
  if (!item) throw errors::ApiError::not_found(kNotFound);
  ctx.authorize({auth::kControlPlanes, Verb::read, id});
  http::Response r;
  r.body = item->json;
  return r;
}

http::Response update(RequestContext& ctx) {
  auto cp = load(ctx);
  ctx.authorize({auth::kControlPlanes, Verb::update, cp.id});
  auto body = ctx.validated_body(request_schema(), schema::Mode::update);
  std::optional<store::ControlPlane> updated;
  try {
    updated = ctx.store().modify_control_plane(ctx.org(), cp.id, [&](store::ControlPlane& current) {
      apply(current, body);
      if (current.labels.size() > 50) {
        throw errors::ApiError::bad_request(errors::InvalidParameter{.field = "labels",
                                                                     .rule = errors::Rule::max_items,
                                                                     .reason = "must have at most 50 labels",
                                                                     .limit = 50},
                                            "Invalid request body.");
      }
      current.updated_at = util::now_ms();
    });
  } catch (const store::ConflictError&) {
    name_conflict(body.contains("name") ? std::string(body.at("name").as_string()) : cp.name);
  }
  if (!updated) throw errors::ApiError::not_found(kNotFound);
  return json_response(200, to_json(*updated, ctx.settings()));
}

http::Response remove(RequestContext& ctx) {
  auto cp = load(ctx);
  ctx.authorize({auth::kControlPlanes, Verb::remove, cp.id});
  try {
    if (!ctx.store().delete_control_plane(ctx.org(), cp.id)) throw errors::ApiError::not_found(kNotFound);
  } catch (const store::InvariantError&) {
    throw errors::ApiError::conflict(
        fmt::format("Control plane group [{}] still has members; remove them before deleting it.", cp.name));
  }
  if (auto* hub = ctx.hub()) hub->removed(ctx.org(), cp.id);
  return empty_response(204);
}

}  // namespace

void register_routes(App& app) {
  app.cached_route("GET", "/v2/control-planes", list, cached_list);
  app.deferred_route("POST", "/v2/control-planes", create);
  app.route("GET", "/v2/control-planes/{controlPlaneId}", get);
  app.route("PATCH", "/v2/control-planes/{controlPlaneId}", update);
  app.route("DELETE", "/v2/control-planes/{controlPlaneId}", remove);

  const std::string group = "/v2/control-planes/{controlPlaneId}";
  app.route("GET", group + "/group-memberships", [](RequestContext& ctx) { return list_memberships(ctx, load(ctx)); });
  app.route("PUT", group + "/group-memberships",
            [](RequestContext& ctx) { return change_memberships(ctx, load(ctx), store::MembershipChange::set); });
  app.route("POST", group + "/group-memberships/add",
            [](RequestContext& ctx) { return change_memberships(ctx, load(ctx), store::MembershipChange::add); });
  app.route("POST", group + "/group-memberships/remove",
            [](RequestContext& ctx) { return change_memberships(ctx, load(ctx), store::MembershipChange::remove); });
  app.route("GET", group + "/group-member-status", [](RequestContext& ctx) { return member_status(ctx, load(ctx)); });
  app.route("GET", group + "/group-status", [](RequestContext& ctx) { return group_status(ctx, load(ctx)); });
}

}  // namespace ok::api::control_planes
