// The generic endpoints of every gateway configuration entity, as Kong's kong/api/endpoints.lua
// makes them from its schemas: collection (GET list, POST), item (GET, PUT upsert, DELETE),
// and the same under a parent (/services/{id}/routes). Entities only differ by their
// ConfigEntity; exceptions live in their own files (consumer_groups.cpp, schemas.cpp).

#include "api/config/routes.hpp"

#include "api/app.hpp"
#include "api/config/entity_list.hpp"
#include "api/config/entity_request.hpp"
#include "api/config/registry.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ok::api::config {
namespace {

namespace bj = boost::json;
using auth::Verb;

// What one route addresses: an entity type, at the top level or under a parent.
struct Target {
  const ConfigEntity* type;
  const Nesting* nesting = nullptr;
};

// The parent of a nested collection, by id or endpoint key: 404 when it is not there.
std::string parent_id(RequestContext& ctx, const store::Scope& scope, const Target& t) {
  if (!t.nesting) return {};
  auto parent = find_entity(ctx, scope, *t.nesting->parent, t.nesting->parent_param);
  if (!parent) entity_not_found(*t.nesting->parent);
  return parent->id;
}

// The entity at the item path, when it is there and (nested) belongs to the parent.
std::optional<store::StoredEntity> item(RequestContext& ctx, const store::Scope& scope, const Target& t,
                                        const std::string& parent) {
  auto found = find_entity(ctx, scope, *t.type, t.type->param, parent);
  if (found && t.nesting && referenced_id(bj::parse(found->body).as_object(), t.nesting->field) != parent) {
    return std::nullopt;
  }
  return found;
}

bj::object parent_override(const Target& t, const std::string& parent) {
  if (!t.nesting) return {};
  return bj::object{{t.nesting->field, bj::object{{"id", parent}}}};
}

http::Response body_response(unsigned status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

http::Response list(RequestContext& ctx, const Target& t) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, t.type->family, Verb::read);
  const auto parent = parent_id(ctx, scope, t);
  auto query = parse_entity_list_query(ctx.request().query, *t.type);
  if (t.nesting) query.store.parent = store::Reference{t.nesting->field, t.nesting->parent->def.name, parent};
  const auto page = ctx.store().entities().page(scope, query.store);
  std::vector<std::string> bodies;
  bodies.reserve(page.items.size());
  for (const auto& e : page.items) bodies.push_back(render(ctx, scope, *t.type, e.body));
  const std::string last_id = page.more && !page.items.empty() ? page.items.back().id : std::string();
  return body_response(200, render_list_page(ctx.request(), bodies, last_id));
}

http::Response get(RequestContext& ctx, const Target& t) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, t.type->family, Verb::read);
  const auto parent = parent_id(ctx, scope, t);
  auto found = item(ctx, scope, t, parent);
  if (!found) entity_not_found(*t.type);
  return body_response(200, render(ctx, scope, *t.type, found->body));
}

// Writes are checked and prepared on the I/O thread and committed by the store's writer; the
// answer is made once the write is durable, with no thread waiting in between (DeferredWrite).
// What the write needs outlives the request's stack in a shared WriteState.
struct WriteState {
  const ConfigEntity* type;
  store::Scope scope;
  bj::object entity;
  bj::object input;
  std::optional<store::EntityKey> existing_key;  // PUT: what the path names
  std::string stored;                            // the JSON written
};

DeferredWrite entity_write(RequestContext& ctx, std::shared_ptr<WriteState> state, unsigned status,
                           std::function<void(store::EntityTransaction&, WriteState&)> work) {
  auto& entities = ctx.store().entities();
  return {
      [&entities, state, work = std::move(work)](store::WriteDone done) {
        entities.write_then(
            state->scope, [state, work](store::EntityTransaction& tx) { work(tx, *state); }, std::move(done));
      },
      [&ctx, state, status](std::exception_ptr error) {
        if (error) {
          try {
            std::rethrow_exception(error);
          } catch (const store::UniqueViolation&) {
            rethrow_write_error(*state->type);
          } catch (const store::MissingReferenceError&) {
            rethrow_write_error(*state->type);
          }
        }
        return body_response(status, render(ctx, state->scope, *state->type, state->stored));
      },
  };
}

DeferredWrite create(RequestContext& ctx, const Target& t) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, t.type->family, Verb::create);
  const auto parent = parent_id(ctx, scope, t);
  auto input = ctx.json_body();
  auto entity = validated_entity(ctx, scope, *t.type, input, parent_override(t, parent));
  refuse_group_writes(cp);
  auto state = std::make_shared<WriteState>(WriteState{
      t.type, scope, std::move(entity), input.is_object() ? std::move(input.as_object()) : bj::object{}, {}, {}});
  return entity_write(ctx, state, 201, [](store::EntityTransaction& tx, WriteState& s) {
    const std::string id(s.entity.at("id").as_string());
    if (tx.get(s.type->def.name, {"id", id})) throw store::UniqueViolation(s.type->def.name, "id", id, id);
    s.stored = put_entity(tx, *s.type, std::move(s.entity), std::nullopt, s.input);
  });
}

// PUT: create or replace, by id or endpoint key; the body replaces the whole entity (what it
// leaves out returns to its default).
DeferredWrite upsert(RequestContext& ctx, const Target& t) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, t.type->family, Verb::update);
  const auto parent = parent_id(ctx, scope, t);
  const auto& value = ctx.path_param(t.type->param);
  bj::object overrides = parent_override(t, parent);
  const bool by_id = schema::is_uuid(value);
  if (!by_id && t.type->def.endpoint_key.empty()) {
    throw errors::ApiError::bad_request(errors::invalid_path_id(t.type->param), "Request contains invalid ID format.");
  }
  auto input = ctx.json_body();
  const auto& key = by_id ? std::string("id") : t.type->def.endpoint_key;
  const std::string path_value = by_id ? util::to_lower(value) : value;
  if (input.is_object()) {
    // The path names the entity: a body that names another one is a mistake, not a rename.
    if (const auto* given = input.get_object().if_contains(key); given && !given->is_null()) {
      const auto normalized = [&](std::string_view v) {
        return by_id ? util::to_lower(v) : t.type->normalize_key ? t.type->normalize_key(v) : std::string(v);
      };
      if (!given->is_string() || normalized(given->get_string()) != normalized(path_value)) {
        throw errors::ApiError::bad_request(
            errors::InvalidParameter{
                .field = key, .rule = errors::Rule::invalid, .reason = "must match the " + key + " in the path"},
            "Invalid request body.");
      }
    }
    overrides[key] = path_value;
  }
  auto entity = validated_entity(ctx, scope, *t.type, input, overrides);
  refuse_group_writes(cp);
  store::EntityKey existing_key{"id", path_value};
  if (!by_id) {
    const auto normalized = t.type->normalize_key ? t.type->normalize_key(value) : value;
    existing_key = t.type->key_scope.empty()
                       ? store::EntityKey{key, normalized}
                       : store::EntityKey{t.type->key_scope + "," + key,
                                          referenced_id(entity, t.type->key_scope) + '\x1f' + normalized};
  }
  auto state = std::make_shared<WriteState>(WriteState{t.type,
                                                       scope,
                                                       std::move(entity),
                                                       input.is_object() ? std::move(input.as_object()) : bj::object{},
                                                       std::move(existing_key),
                                                       {}});
  return entity_write(ctx, state, 200, [](store::EntityTransaction& tx, WriteState& s) {
    const auto existing = tx.get(s.type->def.name, *s.existing_key);
    s.stored = put_entity(tx, *s.type, std::move(s.entity), existing, s.input);
  });
}

// DELETE: 204 whether or not the entity was there (the spec's wording).
http::Response remove(RequestContext& ctx, const Target& t) {
  const auto cp = load_control_plane(ctx);
  const auto scope = store::Scope::of(cp);
  authorize(ctx, cp, t.type->family, Verb::remove);
  const auto parent = parent_id(ctx, scope, t);
  refuse_group_writes(cp);
  const auto found = item(ctx, scope, t, parent);
  if (!found) return empty_response(204);
  bool force = false;
  for (const auto& [k, v] : ctx.request().query) force = force || (k == "force" && v == "true");
  try {
    ctx.store().entities().write(scope,
                                 [&](store::EntityTransaction& tx) { tx.remove(t.type->def.name, found->id, force); });
  } catch (const store::ReferencedError&) {
    std::string what = found->id;
    if (!t.type->def.endpoint_key.empty()) {
      const auto key = referenced_id(bj::parse(found->body).as_object(), t.type->def.endpoint_key);
      if (!key.empty()) what = key;
    }
    rethrow_write_error(*t.type, what);
  }
  return empty_response(204);
}

void register_target(App& app, const std::string& collection, const std::string& item_param, const Target& t,
                     bool writes, bool item_reads, bool item_get) {
  app.route("GET", collection, [t](RequestContext& ctx) { return list(ctx, t); });
  if (writes) app.deferred_route("POST", collection, [t](RequestContext& ctx) { return create(ctx, t); });
  const auto item_path = collection + "/{" + item_param + "}";
  if (item_reads && item_get) app.route("GET", item_path, [t](RequestContext& ctx) { return get(ctx, t); });
  if (writes) {
    app.deferred_route("PUT", item_path, [t](RequestContext& ctx) { return upsert(ctx, t); });
    app.route("DELETE", item_path, [t](RequestContext& ctx) { return remove(ctx, t); });
  }
}

}  // namespace

void register_entity_routes(App& app) {
  const auto& registry = Registry::get();
  for (const auto* type : registry.entities()) {
    if (!type->top_level) continue;
    register_target(app, kCoreEntitiesPath + "/" + type->path, type->param, Target{type}, type->top_level_writes,
                    type->top_level_item, type->def.name != "consumer_groups");
  }
  for (const auto& nesting : registry.nestings()) {
    const auto collection =
        kCoreEntitiesPath + "/" + nesting.parent->path + "/{" + nesting.parent_param + "}/" + nesting.segment;
    register_target(app, collection, nesting.child->param, Target{nesting.child, &nesting}, true, true, true);
  }
}

}  // namespace ok::api::config
