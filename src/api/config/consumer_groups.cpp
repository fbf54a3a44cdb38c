// Consumer groups' own endpoints: the wrapped GET of one group, and membership both ways
// (/consumer_groups/{id}/consumers, /consumers/{id}/consumer_groups). A membership is an entity
// of its own (consumer_group_consumers) that cascades away with either side.

#include "api/app.hpp"
#include "api/config/entity_list.hpp"
#include "api/config/entity_request.hpp"
#include "api/config/routes.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ok::api::config {
namespace {

namespace bj = boost::json;
using auth::Verb;
using errors::ApiError;

struct Side {
  const ConfigEntity* type;   // the entity in the path
  const ConfigEntity* other;  // the entities listed or added
  std::string field;          // the membership's reference to the path's entity
  std::string other_field;    // … and to the other side
  std::string param;          // the path parameter
  std::string body_key;       // what a POST names the other side by: "consumer" or "group"
  std::string list_key;       // the POST answer's list: "consumers" or "consumer_groups"
};

const Side& group_side() {
  static const Side s{Registry::get().by_name("consumer_groups"),
                      Registry::get().by_name("consumers"),
                      "consumer_group",
                      "consumer",
                      "ConsumerGroupId",
                      "consumer",
                      "consumers"};
  return s;
}

const Side& consumer_side() {
  static const Side s{Registry::get().by_name("consumers"),
                      Registry::get().by_name("consumer_groups"),
                      "consumer",
                      "consumer_group",
                      "ConsumerId",
                      "group",
                      "consumer_groups"};
  return s;
}

store::StoredEntity load(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type,
                         const std::string& param) {
  auto found = find_entity(ctx, scope, type, param);
  if (!found) entity_not_found(type);
  return std::move(*found);
}

bj::array bodies_of(RequestContext& ctx, const store::Scope& scope, const Side& side, const std::string& id) {
  bj::array out;
  auto& store = ctx.store().entities();
  for (const auto& m :
       store.referencing(scope, side.type->def.name, id, Registry::get().membership().def.name, side.field)) {
    const auto other_id = referenced_id(bj::parse(m.body).as_object(), side.other_field);
    if (auto other = store.get(scope, side.other->def.name, {"id", other_id})) out.push_back(bj::parse(other->body));
  }
  return out;
}

http::Response get_group(RequestContext& ctx) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  const auto& side = group_side();
  authorize(ctx, cp, side.type->family, Verb::read);
  const auto group = load(ctx, scope, *side.type, side.param);
  bj::object out{{"consumer_group", bj::parse(group.body)}};
  bool list_consumers = true;
  for (const auto& [k, v] : ctx.request().query) {
    if (k == "list_consumers") list_consumers = v != "false";
  }
  // decK reads the members and the group's plugins from this answer (one call per group).
  if (list_consumers) out["consumers"] = bodies_of(ctx, scope, side, group.id);
  bj::array plugins;
  for (const auto& p :
       ctx.store().entities().referencing(scope, "consumer_groups", group.id, "plugins", "consumer_group")) {
    plugins.push_back(bj::parse(p.body));
  }
  out["plugins"] = std::move(plugins);
  return json_response(200, out);
}

// The other side's entities of one page of memberships.
http::Response list_members(RequestContext& ctx, const Side& side) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, side.type->family, Verb::read);
  const auto self = load(ctx, scope, *side.type, side.param);
  const auto& membership = Registry::get().membership();
  auto query = parse_entity_list_query(ctx.request().query, membership);
  // Tags belong to the members listed, not to the memberships: filtered below, per page.
  const auto tags = query.store.tags;
  query.store.tags = {};
  query.store.parent = store::Reference{side.field, side.type->def.name, self.id};
  auto& store = ctx.store().entities();
  const auto page = store.page(scope, query.store);
  std::vector<std::string> bodies;
  for (const auto& m : page.items) {
    const auto other_id = referenced_id(bj::parse(m.body).as_object(), side.other_field);
    auto other = store.get(scope, side.other->def.name, {"id", other_id});
    if (!other) continue;
    if (!tags.tags.empty()) {
      const auto entity = bj::parse(other->body).as_object();
      const auto* t = entity.if_contains("tags");
      std::vector<std::string> have;
      if (t && t->is_array()) {
        for (const auto& v : t->get_array()) have.emplace_back(v.as_string());
      }
      auto has = [&](const std::string& x) { return std::find(have.begin(), have.end(), x) != have.end(); };
      const bool ok = tags.any ? std::any_of(tags.tags.begin(), tags.tags.end(), has)
                               : std::all_of(tags.tags.begin(), tags.tags.end(), has);
      if (!ok) continue;
    }
    bodies.push_back(other->body);
  }
  const std::string last = page.more && !page.items.empty() ? page.items.back().id : std::string();
  http::Response r;
  r.body = render_list_page(ctx.request(), bodies, last);
  return r;
}

// POST: adds the path's entity to the other side's entities named in the body (one name or
// id, or an array of them). 201 with both sides.
http::Response add_members(RequestContext& ctx, const Side& side) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, side.type->family, Verb::create);
  const auto self = load(ctx, scope, *side.type, side.param);
  const auto body = ctx.json_body();
  std::vector<std::string> names;
  const bj::value* given = body.is_object() ? body.get_object().if_contains(side.body_key) : nullptr;
  if (given && given->is_string()) {
    names.emplace_back(given->get_string());
  } else if (given && given->is_array()) {
    for (const auto& v : given->get_array()) {
      if (v.is_string()) names.emplace_back(v.get_string());
    }
  }
  if (names.empty()) {
    throw ApiError::bad_request(
        errors::InvalidParameter{.field = side.body_key,
                                 .rule = errors::Rule::required,
                                 .reason = "is required: the id or name of a " + side.other->def.display},
        "Invalid request body.");
  }
  auto& store = ctx.store().entities();
  std::vector<store::StoredEntity> others;
  errors::InvalidParameters problems;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& name = names[i];
    const auto key = schema::is_uuid(name) ? store::EntityKey{"id", util::to_lower(name)}
                                           : store::EntityKey{side.other->def.endpoint_key, name};
    if (auto found = store.get(scope, side.other->def.name, key)) {
      others.push_back(std::move(*found));
    } else {
      problems.push_back(
          {.field = given->is_array() ? fmt::format("{}[{}]", side.body_key, i) : side.body_key,
           .rule = errors::Rule::missing_reference,
           .reason = fmt::format("does not reference an existing {} entity ([{}])", side.other->def.name, name)});
    }
  }
  if (!problems.empty()) throw ApiError::bad_request(std::move(problems), "Invalid request body.");
  refuse_group_writes(cp);
  const auto& membership = Registry::get().membership();
  try {
    store.write(scope, [&](store::EntityTransaction& tx) {
      for (const auto& other : others) {
        bj::object m{{"id", util::new_uuid()},
                     {side.field, bj::object{{"id", self.id}}},
                     {side.other_field, bj::object{{"id", other.id}}}};
        put_entity(tx, membership, std::move(m), std::nullopt, {});
      }
    });
  } catch (const store::UniqueViolation&) {
    throw ApiError::conflict(fmt::format("{} is already a member of that consumer group.",
                                         side.type->def.name == "consumers" ? "The consumer" : "A consumer"));
  } catch (const store::MissingReferenceError&) {
    rethrow_write_error(membership);
  }
  bj::array listed;
  for (const auto& o : others) listed.push_back(bj::parse(o.body));
  const std::string self_key = side.type->def.name == "consumers" ? "consumer" : "consumer_group";
  return json_response(201, bj::object{{self_key, bj::parse(self.body)}, {side.list_key, std::move(listed)}});
}

// DELETE of one membership (the other side in the path) or of all of them.
http::Response remove_members(RequestContext& ctx, const Side& side, const std::string& other_param) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, side.type->family, Verb::remove);
  const auto self = load(ctx, scope, *side.type, side.param);
  refuse_group_writes(cp);
  std::string only;
  if (!other_param.empty()) {
    auto other = find_entity(ctx, scope, *side.other, other_param);
    if (!other) return empty_response(204);
    only = other->id;
  }
  const auto& membership = Registry::get().membership();
  ctx.store().entities().write(scope, [&](store::EntityTransaction& tx) {
    for (const auto& m : tx.referencing(side.type->def.name, self.id, membership.def.name, side.field)) {
      if (only.empty() || referenced_id(bj::parse(m.body).as_object(), side.other_field) == only) {
        tx.remove(membership.def.name, m.id, false);
      }
    }
  });
  return empty_response(204);
}

}  // namespace

void register_consumer_group_routes(App& app) {
  const auto groups = kCoreEntitiesPath + "/consumer_groups/{ConsumerGroupId}";
  const auto consumers = kCoreEntitiesPath + "/consumers/{ConsumerId}";
  app.route("GET", groups, get_group);
  app.route("GET", groups + "/consumers", [](RequestContext& ctx) { return list_members(ctx, group_side()); });
  app.route("POST", groups + "/consumers", [](RequestContext& ctx) { return add_members(ctx, group_side()); });
  app.route("DELETE", groups + "/consumers", [](RequestContext& ctx) { return remove_members(ctx, group_side(), ""); });
  app.route("DELETE", groups + "/consumers/{ConsumerId}",
            [](RequestContext& ctx) { return remove_members(ctx, group_side(), "ConsumerId"); });
  app.route("GET", consumers + "/consumer_groups",
            [](RequestContext& ctx) { return list_members(ctx, consumer_side()); });
  app.route("POST", consumers + "/consumer_groups",
            [](RequestContext& ctx) { return add_members(ctx, consumer_side()); });
  app.route("DELETE", consumers + "/consumer_groups",
            [](RequestContext& ctx) { return remove_members(ctx, consumer_side(), ""); });
  app.route("DELETE", consumers + "/consumer_groups/{ConsumerGroupId}",
            [](RequestContext& ctx) { return remove_members(ctx, consumer_side(), "ConsumerGroupId"); });
}

}  // namespace ok::api::config
