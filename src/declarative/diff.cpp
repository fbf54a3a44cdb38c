#include "declarative/diff.hpp"

#include "api/config/registry.hpp"
#include "schema/entity_validator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

namespace ok::declarative {
namespace {

using api::config::ConfigEntity;
using api::config::Registry;

std::string string_member(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string lower_display(const ConfigEntity& e) {
  std::string display = e.def.display;
  std::transform(display.begin(), display.end(), display.begin(), [](unsigned char c) { return std::tolower(c); });
  return display;
}

// A reference's id, when it holds one.
std::string referenced_id(const boost::json::value* v) {
  if (!v || !v->is_object()) return {};
  return string_member(v->get_object(), "id");
}

// Entities' endpoint keys by id (a service's name, a consumer's username), for labels.
using NamesById = std::unordered_map<std::string, std::string>;

// "service billing (3d1c…)", "plugin cors (…)"; an entity without a name of its own by what
// it references: "key-auth credential 5e0f… (consumer alice)", "consumer group membership
// (consumer group gold, consumer alice)".
std::string label_of(const ConfigEntity& e, const boost::json::object& entity, const NamesById& names) {
  const auto display = lower_display(e);
  std::string name = e.def.endpoint_key.empty() ? std::string() : string_member(entity, e.def.endpoint_key);
  if (name.empty()) name = string_member(entity, "name");  // a plugin's name says what it is
  const auto id = string_member(entity, "id");
  if (name.empty() && e.def.endpoint_key.empty()) {
    std::string refs;
    for (const auto& field : e.def.record.fields) {
      if (field.type != schema::FieldType::foreign) continue;
      const auto ref = referenced_id(entity.if_contains(field.name));
      if (ref.empty()) continue;
      const auto* target = Registry::get().by_name(field.reference);
      auto it = names.find(ref);
      refs += fmt::format("{}{} {}", refs.empty() ? "" : ", ", target ? lower_display(*target) : field.name,
                          it == names.end() ? ref : it->second);
    }
    // A membership's id is the CLI's own (the API has no route to one): left out.
    if (!refs.empty()) {
      return id.empty() || !e.top_level ? fmt::format("{} ({})", display, refs)
                                        : fmt::format("{} {} ({})", display, id, refs);
    }
  }
  if (name.empty()) return id.empty() ? display : fmt::format("{} {}", display, id);
  return id.empty() ? fmt::format("{} {}", display, name) : fmt::format("{} {} ({})", display, name, id);
}

// The sets of fields that name one entity of a type apart from its id: its endpoint key
// (unless unique only within a parent, as a target's is within its upstream), each unique
// field (a key-auth credential's key), and its unique combinations (a plugin's name with what
// it applies to).
std::vector<std::vector<std::string>> match_keys(const ConfigEntity& e) {
  std::vector<std::vector<std::string>> out;
  if (!e.def.endpoint_key.empty() && e.key_scope.empty()) out.push_back({e.def.endpoint_key});
  for (const auto& f : e.def.record.fields) {
    if (f.unique && f.name != "id" && f.name != e.def.endpoint_key) out.push_back({f.name});
  }
  for (const auto& together : e.def.unique_together) out.push_back(together);
  return out;
}

// The value of one match key, "" when the entity does not set all of it.
std::string key_value(const ConfigEntity& e, const std::vector<std::string>& fields,
                      const boost::json::object& entity) {
  std::string key;
  bool any = false;
  for (const auto& field : fields) {
    const auto* v = entity.if_contains(field);
    const auto* def = e.def.find(field);
    if (def && def->type == schema::FieldType::foreign) {
      const auto id = referenced_id(v);
      any = any || !id.empty();
      key += id;
    } else if (v && !v->is_null()) {
      if (fields.size() == 1 && (!v->is_string() || v->get_string().empty())) return {};
      any = true;
      key += boost::json::serialize(*v);
    }
    key += '\x1f';
  }
  return any ? key : std::string();
}

// One entity type's entities, found by id and by each match key.
struct Index {
  std::vector<std::vector<std::string>> keys;
  std::unordered_map<std::string, std::size_t> by_id;
  std::vector<std::unordered_map<std::string, std::size_t>> by_key;  // one per match key

  std::optional<std::size_t> find(const ConfigEntity& e, const boost::json::object& entity) const {
    for (std::size_t k = 0; k < keys.size(); ++k) {
      const auto value = key_value(e, keys[k], entity);
      if (value.empty()) continue;
      if (auto it = by_key[k].find(value); it != by_key[k].end()) return it->second;
    }
    return std::nullopt;
  }
};

Index index_of(const ConfigEntity& e, const std::vector<boost::json::object>& list) {
  Index index{.keys = match_keys(e)};
  index.by_key.resize(index.keys.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (auto id = string_member(list[i], "id"); !id.empty()) index.by_id.emplace(id, i);
    for (std::size_t k = 0; k < index.keys.size(); ++k) {
      if (auto value = key_value(e, index.keys[k], list[i]); !value.empty()) index.by_key[k].emplace(value, i);
    }
  }
  return index;
}

// Endpoint keys name an entity within the whole control plane, except where they are unique
// within a parent only: references name those by id.
bool matches_by_key(const ConfigEntity& e) { return !e.def.endpoint_key.empty() && e.key_scope.empty(); }

const std::vector<boost::json::object>& entities_of(const DeckFile& f, const ConfigEntity& e) {
  static const std::vector<boost::json::object> none;
  auto it = f.entities.find(e.def.name);
  return it == f.entities.end() ? none : it->second;
}

std::string describe(const errors::InvalidParameter& p) {
  return fmt::format("{}: {} (rule: {})", p.field, p.reason, errors::rule_name(p.rule));
}

// The members a comparison looks at: the record's fields, less the timestamps the server sets
// and input-only members (a certificate's `snis`, which a file gives as SNI entities).
// The id is what matched the two, or was given to an entity the server lists without one (a
// membership).
bool compared(const ConfigEntity& e, const schema::RecordDef& record, std::string_view key) {
  if (key == "id" || key == "created_at" || key == "updated_at" || !record.find(key)) return false;
  return std::find(e.transient.begin(), e.transient.end(), key) == e.transient.end();
}

// A value the server generates when none is given (a key-auth credential's key) is no change
// when the file gives none.
std::vector<std::string> changed_fields(const ConfigEntity& e, const schema::RecordDef& record,
                                        const boost::json::object& given, const boost::json::object& desired,
                                        const boost::json::object& current) {
  std::set<std::string> keys;
  for (const auto& [k, _] : desired) {
    if (compared(e, record, k)) keys.emplace(k);
  }
  for (const auto& [k, _] : current) {
    if (compared(e, record, k)) keys.emplace(k);
  }
  std::vector<std::string> out;
  for (const auto& k : keys) {
    if (record.find(k)->auto_value != schema::AutoValue::none && !given.contains(k)) continue;
    const auto* a = desired.if_contains(k);
    const auto* b = current.if_contains(k);
    const bool a_set = a && !a->is_null(), b_set = b && !b->is_null();
    if (a_set != b_set || (a_set && *a != *b)) out.push_back(k);
  }
  return out;
}

}  // namespace

PlanError::PlanError(std::vector<EntityProblem> problems)
    : std::runtime_error(fmt::format("{} entities of the file cannot be synced", problems.size())),
      problems_(std::move(problems)) {}

Plan plan_sync(const DeckFile& file, const DeckFile& current, const std::function<std::string()>& new_id) {
  const auto& registry = Registry::get();
  Plan plan;
  std::vector<EntityProblem> problems;
  // Per entity type: the ids the file's entities end up with, found by endpoint key, so that
  // children later in the order can name them.
  std::map<std::string, std::unordered_map<std::string, std::string>> file_ids_by_key;
  std::map<std::string, Index> current_index;
  std::map<std::string, std::set<std::size_t>> current_matched;
  std::map<std::string, std::vector<std::set<std::string>>> file_keys;  // per type, per match key
  NamesById names;
  for (const auto* e : registry.entities()) {
    current_index[e->def.name] = index_of(*e, entities_of(current, *e));
    if (e->def.endpoint_key.empty()) continue;
    for (const auto& held : entities_of(current, *e)) {
      if (auto key = string_member(held, e->def.endpoint_key); !key.empty()) names[string_member(held, "id")] = key;
    }
  }

  // A reference as the file gives it ({"id": …} or {"name": …}) as {"id": …}.
  auto resolve = [&](const schema::FieldDef& field, const boost::json::value& ref,
                     std::vector<std::string>& reasons) -> std::optional<boost::json::value> {
    if (ref.is_null()) return ref;
    if (!ref.is_object()) return ref;  // the schema says what is wrong with it
    const auto& r = ref.get_object();
    if (r.contains("id")) return ref;
    const auto* target = registry.by_name(field.reference);
    const auto& key_field = field.reference_key;
    const auto key = key_field.empty() ? std::string() : string_member(r, key_field);
    if (!target || key.empty()) return ref;
    if (auto it = file_ids_by_key[target->def.name].find(key); it != file_ids_by_key[target->def.name].end()) {
      return boost::json::object{{"id", it->second}};
    }
    if (matches_by_key(*target) && key_field == target->def.endpoint_key) {
      const auto& index = current_index[target->def.name];
      if (auto found = index.find(*target, boost::json::object{{key_field, key}})) {
        return boost::json::object{{"id", string_member(entities_of(current, *target)[*found], "id")}};
      }
    }
    reasons.push_back(
        fmt::format("{}: no {} [{}] in the file or in the control plane", field.name, lower_display(*target), key));
    return std::nullopt;
  };

  // First, in order (children name parents the file gives earlier): references, ids, matches.
  struct Pending {
    const ConfigEntity* entity;
    const boost::json::object* given;
    boost::json::object body;
    std::optional<std::size_t> match;
    std::string id;
    std::vector<std::string> reasons;
  };
  struct Outcome {
    std::optional<Operation> op;
    std::vector<std::string> reasons;
    bool unchanged = false;
  };
  std::vector<Pending> pending;
  for (const auto* e : registry.entities()) {
    const auto& wanted = entities_of(file, *e);
    const auto& held = entities_of(current, *e);
    const auto& index = current_index[e->def.name];
    for (const auto& given : wanted) {
      std::vector<std::string> reasons;
      boost::json::object body = given;
      for (const auto& field : e->def.record.fields) {
        if (field.type != schema::FieldType::foreign) continue;
        if (auto* ref = body.if_contains(field.name)) {
          if (auto resolved = resolve(field, *ref, reasons)) *ref = *resolved;
        }
      }
      if (!file.select_tags.empty() && e->def.find("tags")) {
        boost::json::array tags;
        if (const auto* t = body.if_contains("tags"); t && t->is_array()) tags = t->get_array();
        for (const auto& tag : file.select_tags) {
          if (std::find(tags.begin(), tags.end(), boost::json::value(tag)) == tags.end()) tags.emplace_back(tag);
        }
        body["tags"] = std::move(tags);
      }
      // Which held entity this is: by id, else endpoint key, else unique fields.
      std::optional<std::size_t> match;
      auto id = string_member(body, "id");
      if (!id.empty()) {
        if (auto it = index.by_id.find(id); it != index.by_id.end()) match = it->second;
      } else {
        match = index.find(*e, body);
        if (match) id = string_member(held[*match], "id");
        if (id.empty()) id = new_id();
        body["id"] = id;
      }
      if (matches_by_key(*e)) {
        if (auto key = string_member(body, e->def.endpoint_key); !key.empty()) file_ids_by_key[e->def.name][key] = id;
      }
      if (match && !current_matched[e->def.name].insert(*match).second) {
        reasons.emplace_back("the file holds this entity twice");
      } else if (!match) {
        // Two new entities of the file that are one by a unique key (a membership listed both in
        // its consumer and in its group) would fail on the server as a conflict.
        auto& seen = file_keys[e->def.name];
        seen.resize(index.keys.size());
        for (std::size_t k = 0; k < index.keys.size(); ++k) {
          const auto value = key_value(*e, index.keys[k], body);
          if (!value.empty() && !seen[k].insert(value).second) {
            reasons.emplace_back("the file holds this entity twice");
            break;
          }
        }
      }
      if (!e->def.endpoint_key.empty()) {
        if (auto key = string_member(body, e->def.endpoint_key); !key.empty()) names[id] = key;
      }
      pending.push_back({e, &given, std::move(body), match, std::move(id), std::move(reasons)});
    }
  }

  // Filled with defaults as the server will, so that what the file leaves out is no change:
  // the schema work of each entity is its own, so it runs on every core (most of a no-change
  // sync's planning time).
  std::vector<Outcome> outcomes(pending.size());
  const auto work = [&](std::size_t i) {
    auto& p = pending[i];
    auto& out = outcomes[i];
    out.reasons = std::move(p.reasons);
    const auto processed = schema::process_entity(p.body, p.entity->def);
    for (const auto& problem : processed.problems) out.reasons.push_back(describe(problem));
    if (!out.reasons.empty()) return;
    out.op = Operation{.entity = p.entity, .id = p.id, .body = p.body, .label = label_of(*p.entity, p.body, names)};
    if (!p.match) return;
    const auto& held = entities_of(current, *p.entity)[*p.match];
    const auto& record = p.entity->def.effective_record(processed.subschema);
    const auto desired = schema::render_record(processed.entity, record, record.keep_nulls);
    out.op->fields = changed_fields(*p.entity, record, *p.given, desired, held);
    if (out.op->fields.empty()) {
      out.op.reset();
      out.unchanged = true;
      return;
    }
    out.op->kind = Operation::Kind::update;
    out.op->current = held;
  };
  {
    std::atomic<std::size_t> next{0};
    std::vector<std::thread> threads;
    const auto count = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
    for (unsigned t = 0; t < count; ++t) {
      threads.emplace_back([&] {
        for (std::size_t i; (i = next++) < pending.size();) work(i);
      });
    }
    for (auto& t : threads) t.join();
  }
  for (std::size_t i = 0; i < pending.size(); ++i) {
    auto& out = outcomes[i];
    if (!out.reasons.empty()) {
      problems.push_back({label_of(*pending[i].entity, pending[i].body, names), std::move(out.reasons)});
    } else if (out.unchanged) {
      ++plan.unchanged;
    } else if (out.op) {
      plan.upserts.push_back(std::move(*out.op));
    }
  }
  if (!problems.empty()) throw PlanError(std::move(problems));

  const auto& all = registry.entities();
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const auto* e = *it;
    const auto& held = entities_of(current, *e);
    const auto& matched = current_matched[e->def.name];
    for (std::size_t i = 0; i < held.size(); ++i) {
      if (matched.contains(i)) continue;
      plan.removals.push_back({.kind = Operation::Kind::remove,
                               .entity = e,
                               .id = string_member(held[i], "id"),
                               .current = held[i],
                               .label = label_of(*e, held[i], names)});
    }
  }
  return plan;
}

}  // namespace ok::declarative
