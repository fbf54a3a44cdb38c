#include "api/config/entity_request.hpp"

#include "errors/api_error.hpp"
#include "schema/entity_validator.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>

namespace ok::api::config {
namespace {

namespace bj = boost::json;
using errors::ApiError;
using errors::InvalidParameter;
using errors::Rule;

constexpr char kKeySeparator = '\x1f';

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

store::OnDelete on_delete(schema::OnDelete d) {
  switch (d) {
    case schema::OnDelete::cascade:
      return store::OnDelete::cascade;
    case schema::OnDelete::restrict_unless_forced:
      return store::OnDelete::restrict_unless_forced;
    case schema::OnDelete::restrict:
      break;
  }
  return store::OnDelete::restrict;
}

// A unique key's value as stored: strings as they are, references by id, null as "".
std::string key_part(const bj::value* v) {
  if (!v || v->is_null()) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_object()) {
    if (const auto* id = v->get_object().if_contains("id"); id && id->is_string()) return std::string(id->get_string());
  }
  return bj::serialize(*v);
}

const schema::Subschema* subschema_of(const ConfigEntity& type, const bj::object& entity) {
  if (type.def.subschema_key.empty()) return nullptr;
  const auto* key = entity.if_contains(type.def.subschema_key);
  if (!key || !key->is_string()) return nullptr;
  return type.def.subschema(key->get_string());
}

store::EntityRow make_row(const ConfigEntity& type, const schema::RecordDef& record, const bj::object& entity) {
  store::EntityRow row;
  row.type = type.def.name;
  row.id = std::string(entity.at("id").as_string());
  bj::object stored = entity;
  for (const auto& t : type.transient) stored.erase(t);
  row.body = bj::serialize(schema::render_record(stored, record));
  for (const auto& field : record.fields) {
    const auto* value = entity.if_contains(field.name);
    if (!value || value->is_null()) continue;
    if (field.unique && value->is_string()) row.unique_keys.emplace_back(field.name, std::string(value->get_string()));
    if (field.type == schema::FieldType::foreign) {
      row.references.push_back({field.name, field.reference, key_part(value), on_delete(field.on_delete)});
    }
    if (!field.element_reference.empty() && value->is_array()) {
      for (const auto& id : value->get_array()) {
        if (id.is_string()) {
          row.references.push_back(
              {field.name, field.element_reference, lower(id.get_string()), on_delete(field.on_delete)});
        }
      }
    }
    if (field.name == "tags" && value->is_array()) {
      for (const auto& tag : value->get_array()) {
        if (tag.is_string()) row.tags.emplace_back(tag.get_string());
      }
    }
  }
  for (const auto& fields : type.def.unique_together) {
    std::string name;
    std::string value;
    for (const auto& f : fields) {
      if (!name.empty()) {
        name += ',';
        value += kKeySeparator;
      }
      name += f;
      value += key_part(entity.if_contains(f));
    }
    row.unique_keys.emplace_back(std::move(name), std::move(value));
  }
  return row;
}

std::string describe_value(std::string_view key, const std::string& value) {
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto sep = value.find(kKeySeparator, start);
    const auto part = value.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
    if (!out.empty()) out += ", ";
    out += part.empty() ? "null" : part;
    if (sep == std::string::npos) break;
    start = sep + 1;
  }
  (void)key;
  return out;
}

std::string describe_key(const std::string& key) {
  std::string out;
  for (char c : key) out += c == ',' ? std::string(", ") : std::string(1, c);
  return out;
}

// Foreign keys given by id must name an existing entity; given by endpoint key, they are
// resolved to its id. (The write checks ids again inside its transaction.)
void resolve_references(RequestContext& ctx, const store::Scope& scope, const schema::RecordDef& record,
                        schema::Processed& p) {
  auto& store = ctx.store().entities();
  for (const auto& u : p.unresolved) {
    if (auto found = store.get(scope, u.entity, {u.key, u.value})) {
      // The reference is where its path says: a member of the entity, or of a record in it.
      bj::object* holder = &p.entity;
      std::string_view path = u.path;
      for (auto dot = path.find('.'); dot != std::string_view::npos && holder; dot = path.find('.')) {
        auto* next = holder->if_contains(path.substr(0, dot));
        holder = next && next->is_object() ? &next->get_object() : nullptr;
        path.remove_prefix(dot + 1);
      }
      if (holder) (*holder)[path] = bj::object{{"id", found->id}};
    } else {
      p.problems.push_back(
          {.field = schema::field_path(u.path, u.key),
           .rule = Rule::missing_reference,
           .reason = fmt::format("does not reference an existing {} entity ({} [{}])", u.entity, u.key, u.value)});
    }
  }
  for (const auto& field : record.fields) {
    const auto* value = p.entity.if_contains(field.name);
    if (!value || value->is_null()) continue;
    if (field.type == schema::FieldType::foreign && value->is_object()) {
      const auto* id = value->get_object().if_contains("id");
      if (!id || !id->is_string()) continue;
      if (!store.get(scope, field.reference, {"id", std::string(id->get_string())})) {
        p.problems.push_back({.field = field.name + ".id",
                              .rule = Rule::missing_reference,
                              .reason = fmt::format("does not reference an existing {} entity", field.reference)});
      }
    } else if (!field.element_reference.empty() && value->is_array()) {
      const auto& ids = value->get_array();
      for (std::size_t i = 0; i < ids.size(); ++i) {
        if (!ids[i].is_string() || !schema::is_uuid(ids[i].get_string())) continue;
        if (!store.get(scope, field.element_reference, {"id", lower(ids[i].get_string())})) {
          p.problems.push_back(
              {.field = fmt::format("{}[{}]", field.name, i),
               .rule = Rule::missing_reference,
               .reason = fmt::format("does not reference an existing {} entity", field.element_reference)});
        }
      }
    }
  }
}

}  // namespace

store::ControlPlane load_control_plane(RequestContext& ctx) {
  const auto& id = ctx.path_id("controlPlaneId");
  auto cp = ctx.store().get_control_plane(ctx.org(), id);
  if (!cp) throw ApiError::not_found("The requested control plane was not found.");
  return std::move(*cp);
}

void authorize(RequestContext& ctx, const store::ControlPlane& cp, std::string_view family, auth::Verb verb) {
  const auto decision = auth::decide_config(ctx.roles(), {cp.id, family, verb});
  if (decision.allowed) return;
  if (decision.required_role == "Admin" || decision.required_role == "Viewer") {
    throw ApiError::forbidden(fmt::format("Insufficient permissions: role [{}] on [{}] is required.",
                                          decision.required_role, auth::kControlPlanes));
  }
  throw ApiError::forbidden(fmt::format("Insufficient permissions: role [Admin] or [{}] on [{}] is required.",
                                        decision.required_role, auth::kControlPlanes));
}

void refuse_group_writes(const store::ControlPlane& cp) {
  if (cp.cluster_type == "CLUSTER_TYPE_CONTROL_PLANE_GROUP") {
    throw ApiError::conflict(fmt::format(
        "Control plane [{}] is a control plane group: its configuration is the merge of its members' and cannot "
        "be changed directly.",
        cp.name));
  }
}

std::optional<store::StoredEntity> find_entity(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type,
                                               const std::string& param, const std::string& parent_id) {
  const auto& value = ctx.path_param(param);
  auto& store = ctx.store().entities();
  if (schema::is_uuid(value)) return store.get(scope, type.def.name, {"id", lower(value)});
  if (type.def.endpoint_key.empty()) {
    throw ApiError::bad_request(errors::invalid_path_id(param), "Request contains invalid ID format.");
  }
  const auto key = type.normalize_key ? type.normalize_key(value) : value;
  if (!type.key_scope.empty()) {
    if (parent_id.empty()) return std::nullopt;
    return store.get(scope, type.def.name,
                     {type.key_scope + "," + type.def.endpoint_key, parent_id + kKeySeparator + key});
  }
  return store.get(scope, type.def.name, {type.def.endpoint_key, key});
}

std::string referenced_id(const bj::object& entity, std::string_view field) {
  return key_part(entity.if_contains(field));
}

void entity_not_found(const ConfigEntity& type) {
  std::string what = type.def.display;
  if (!what.empty() && !(what.size() > 1 && std::isupper(static_cast<unsigned char>(what[1])))) {
    what[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(what[0])));
  }
  throw ApiError::not_found(fmt::format("The requested {} was not found.", what));
}

bj::object validated_entity(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type,
                            const bj::object& overrides) {
  return validated_entity(ctx, scope, type, ctx.json_body(), overrides);
}

bj::object validated_entity(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type, bj::value body,
                            const bj::object& overrides, bool check_references) {
  if (body.is_null() && ctx.request().body.empty()) body = bj::object{};
  if (body.is_object()) {
    for (const auto& [k, v] : overrides) body.as_object()[k] = v;
  }
  auto p = schema::process_entity(body, type.def);
  if (check_references && (p.problems.empty() || !p.entity.empty())) {
    const auto& record = type.def.effective_record(p.subschema);
    resolve_references(ctx, scope, record, p);
  }
  if (p.problems.empty() && type.complete) {
    HookContext hook{ctx.store().entities(), scope};
    type.complete(hook, p.entity, p.problems);
  }
  if (!p.problems.empty()) throw ApiError::bad_request(std::move(p.problems), "Invalid request body.");
  return std::move(p.entity);
}

std::string put_entity(store::EntityTransaction& tx, const ConfigEntity& type, bj::object entity,
                       const std::optional<store::StoredEntity>& existing, const bj::object& input) {
  const auto& record = type.def.effective_record(subschema_of(type, entity));
  const auto now_ms = util::now_ms();
  std::optional<bj::value> created_at;
  if (existing) {
    const auto old = bj::parse(existing->body).as_object();
    entity["id"] = existing->id;
    if (const auto* c = old.if_contains("created_at")) created_at = *c;
    for (const auto& field : record.fields) {
      if (!field.immutable) continue;
      const auto* before = old.if_contains(field.name);
      const auto* after = entity.if_contains(field.name);
      const bool same = (!before || before->is_null()) ? (!after || after->is_null()) : (after && *before == *after);
      if (!same) {
        throw ApiError::bad_request(
            InvalidParameter{.field = field.name, .rule = Rule::invalid, .reason = "immutable field cannot be updated"},
            "Invalid request body.");
      }
    }
  }
  for (const auto& field : record.fields) {
    if (field.auto_value == schema::AutoValue::timestamp_s) {
      entity[field.name] = field.name == "created_at" && created_at ? *created_at : bj::value(now_ms / 1000);
    } else if (field.auto_value == schema::AutoValue::timestamp_ms) {
      entity[field.name] =
          field.name == "created_at" && created_at ? *created_at : bj::value(static_cast<double>(now_ms) / 1000.0);
    }
  }
  auto row = make_row(type, record, entity);
  tx.put(row);
  if (type.after_put) type.after_put(tx, entity, input);
  return row.body;
}

void rethrow_write_error(const ConfigEntity& type, const std::string& what) {
  try {
    throw;
  } catch (const store::UniqueViolation& e) {
    throw ApiError::conflict(fmt::format("{} with {} [{}] already exists.", type.def.display, describe_key(e.key()),
                                         describe_value(e.key(), e.value())));
  } catch (const store::MissingReferenceError& e) {
    const auto& r = e.reference();
    throw ApiError::bad_request(
        InvalidParameter{.field = r.field + ".id",
                         .rule = Rule::missing_reference,
                         .reason = fmt::format("does not reference an existing {} entity", r.parent_type)},
        "Invalid request body.");
  } catch (const store::ReferencedError& e) {
    std::string ids;
    for (const auto& id : e.child_ids()) ids += (ids.empty() ? "" : ", ") + id;
    throw ApiError::conflict(fmt::format("{}{} is still referenced by {} [{}]; delete them first{}.", type.def.display,
                                         what.empty() ? std::string() : " [" + what + "]", e.child_type(), ids,
                                         type.def.name == "services" ? ", or delete with force=true" : ""));
  }
}

std::string render(RequestContext& ctx, const store::Scope& scope, const ConfigEntity& type, const std::string& body) {
  if (!type.decorate) return body;
  auto entity = bj::parse(body).as_object();
  type.decorate(ctx.store().entities(), scope, entity);
  return bj::serialize(entity);
}

}  // namespace ok::api::config
