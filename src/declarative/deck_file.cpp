#include "declarative/deck_file.hpp"

#include "api/config/registry.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace ok::declarative {
namespace {

using api::config::ConfigEntity;
using api::config::Nesting;
using api::config::Registry;

const Registry& registry() { return Registry::get(); }

// The entities a file lists by their type's name (the registry's, less consumer-group
// membership, which is written inside a consumer or a group: see MembershipForm).
const ConfigEntity* file_entity(std::string_view name) {
  const auto* e = registry().by_name(name);
  return e && e != &registry().membership() ? e : nullptr;
}

// decK writes a consumer's groups inside the consumer (`groups: [{name: gold}]`); older files
// list a group's consumers inside the group (`consumers: [{username: alice}]`). Both are read;
// the first is written. Each is a membership entity naming both sides.
struct MembershipForm {
  std::string_view owner;        // the entity type the list is inside
  std::string_view key;          // the list's member name
  std::string_view owner_field;  // the membership's reference to the owner
  std::string_view other_field;  // … and to the listed entity
  std::string_view other;        // the listed entity's type
};
constexpr MembershipForm kConsumersGroups{"consumers", "groups", "consumer", "consumer_group", "consumer_groups"};
constexpr MembershipForm kGroupsConsumers{"consumer_groups", "consumers", "consumer_group", "consumer", "consumers"};

const MembershipForm* membership_form(const ConfigEntity& e, std::string_view key) {
  for (const auto* form : {&kConsumersGroups, &kGroupsConsumers}) {
    if (e.def.name == form->owner && key == form->key) return form;
  }
  return nullptr;
}

// The key a reference through `field` of the membership names its entity by (name, username).
std::string membership_reference_key(std::string_view field) {
  const auto* def = registry().membership().def.find(field);
  return def ? def->reference_key : std::string();
}

std::string key_value(const ConfigEntity& e, const boost::json::object& entity) {
  if (e.def.endpoint_key.empty()) return {};
  const auto* v = entity.if_contains(e.def.endpoint_key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string id_of(const boost::json::object& entity) {
  const auto* v = entity.if_contains("id");
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

const char* kind_name(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return "a boolean";
    case boost::json::kind::int64:
    case boost::json::kind::uint64:
    case boost::json::kind::double_:
      return "a number";
    case boost::json::kind::string:
      return "a string";
    case boost::json::kind::array:
      return "a list";
    case boost::json::kind::object:
      return "a mapping";
  }
  return "a value";
}

class Reader {
 public:
  explicit Reader(DeckFile& out) : out_(out) {}

  // `list` holds entities of `e` at `where`; `parent` is set for nested ones.
  void read_list(const ConfigEntity& e, const boost::json::value& list, const std::string& where,
                 const Nesting* nesting, const boost::json::object* parent) {
    if (!list.is_array()) throw FileError(fmt::format("{}: expected a list, found {}", where, kind_name(list)));
    std::size_t i = 0;
    for (const auto& item : list.get_array()) read_entity(e, item, fmt::format("{}[{}]", where, i++), nesting, parent);
  }

 private:
  void read_entity(const ConfigEntity& e, const boost::json::value& item, const std::string& where,
                   const Nesting* nesting, const boost::json::object* parent) {
    if (!item.is_object()) throw FileError(fmt::format("{}: expected a mapping, found {}", where, kind_name(item)));
    boost::json::object entity;
    std::vector<std::pair<const Nesting*, const boost::json::value*>> children;
    std::vector<std::pair<const MembershipForm*, const boost::json::value*>> memberships;
    for (const auto& [key, value] : item.get_object()) {
      if (const auto* n = nested_under(e, key)) {
        children.emplace_back(n, &value);
        continue;
      }
      if (const auto* form = membership_form(e, key)) {
        memberships.emplace_back(form, &value);
        continue;
      }
      entity.emplace(key, value);
    }
    if (nesting) {
      if (entity.contains(nesting->field)) {
        throw FileError(fmt::format("{}: a {} nested under its {} names it already: leave [{}] out", where,
                                    e.def.display, nesting->parent->def.display, nesting->field));
      }
      entity.emplace(nesting->field, reference_to(*nesting, *parent, where));
    }
    auto& stored = out_.entities[e.def.name].emplace_back(std::move(entity));
    for (const auto& [n, value] : children) {
      // Nested entities name this one as given in the file (read before its own children).
      read_list(*n->child, *value, fmt::format("{}.{}", where, n->child->def.name), n, &stored);
    }
    for (const auto& [form, value] : memberships) read_memberships(e, *form, *value, where, stored);
  }

  void read_memberships(const ConfigEntity& owner, const MembershipForm& form, const boost::json::value& list,
                        const std::string& where, const boost::json::object& stored) {
    const auto place = fmt::format("{}.{}", where, form.key);
    if (!list.is_array()) throw FileError(fmt::format("{}: expected a list, found {}", place, kind_name(list)));
    const auto owner_ref = reference_to(owner, membership_reference_key(form.owner_field), stored, place);
    const auto other_key = membership_reference_key(form.other_field);
    std::size_t i = 0;
    for (const auto& item : list.get_array()) {
      const auto at = fmt::format("{}[{}]", place, i++);
      if (!item.is_object()) throw FileError(fmt::format("{}: expected a mapping, found {}", at, kind_name(item)));
      // A listed entity may be written whole (decK's dumps of old wrote groups so): only its id,
      // else its key, names it.
      boost::json::object other;
      if (const auto* id = item.get_object().if_contains("id"); id && id->is_string()) {
        other.emplace("id", *id);
      } else if (const auto* key = item.get_object().if_contains(other_key); key && key->is_string()) {
        other.emplace(other_key, *key);
      } else {
        throw FileError(fmt::format("{}: names no {} (by id or {})", at, form.other_field, other_key));
      }
      out_.entities[registry().membership().def.name].push_back(
          boost::json::object{{form.owner_field, owner_ref}, {form.other_field, std::move(other)}});
    }
  }

  // The nesting whose children a member of `e` named `key` holds.
  static const Nesting* nested_under(const ConfigEntity& e, std::string_view key) {
    for (const auto& n : registry().nestings()) {
      if (n.parent == &e && n.child->def.name == key) return &n;
    }
    return nullptr;
  }

  static boost::json::object reference_to(const Nesting& n, const boost::json::object& parent,
                                          const std::string& where) {
    const auto* field = n.child->def.find(n.field);
    return reference_to(*n.parent, field ? field->reference_key : std::string(), parent, where);
  }

  // How an entity nested in `parent` names it: by id, else by `key`.
  static boost::json::object reference_to(const ConfigEntity& parent_type, const std::string& key,
                                          const boost::json::object& parent, const std::string& where) {
    if (auto id = id_of(parent); !id.empty()) return {{"id", id}};
    if (!key.empty()) {
      if (const auto* v = parent.if_contains(key); v && v->is_string()) return {{key, *v}};
    }
    throw FileError(fmt::format("{}: its {} has neither an id nor a [{}] to be named by", where,
                                parent_type.def.display, key.empty() ? "id" : key));
  }

  DeckFile& out_;
};

}  // namespace

std::size_t DeckFile::size() const {
  std::size_t n = 0;
  for (const auto& [_, list] : entities) n += list.size();
  return n;
}

DeckFile read_deck(const boost::json::value& document) {
  if (document.is_null()) throw FileError("the file is empty: a decK file starts with _format_version: \"3.0\"");
  if (!document.is_object()) {
    throw FileError(fmt::format("the file holds {}, not a mapping of entities", kind_name(document)));
  }
  const auto& top = document.get_object();
  DeckFile file;
  const auto* version = top.if_contains("_format_version");
  if (!version) throw FileError("_format_version is missing: decK files of Kong 3 say _format_version: \"3.0\"");
  if (!version->is_string() || version->get_string() != "3.0") {
    throw FileError(fmt::format("_format_version: only \"3.0\" is supported, found {}",
                                version->is_string() ? std::string(version->get_string()) : kind_name(*version)));
  }
  Reader reader(file);
  for (const auto& [key, value] : top) {
    if (key == "_format_version") continue;
    if (key == "_info") {
      if (!value.is_object()) throw FileError(fmt::format("_info: expected a mapping, found {}", kind_name(value)));
      for (const auto& [info_key, info] : value.get_object()) {
        if (info_key != "select_tags") {
          throw FileError(fmt::format("_info.{}: not supported (only select_tags is)", std::string(info_key)));
        }
        if (!info.is_array()) {
          throw FileError(fmt::format("_info.select_tags: expected a list, found {}", kind_name(info)));
        }
        for (const auto& tag : info.get_array()) {
          if (!tag.is_string()) {
            throw FileError(fmt::format("_info.select_tags: expected strings, found {}", kind_name(tag)));
          }
          file.select_tags.emplace_back(tag.get_string());
        }
      }
      continue;
    }
    const auto* e = file_entity(key);
    if (!e) throw FileError(fmt::format("{}: not an entity decK files hold here", std::string(key)));
    reader.read_list(*e, value, std::string(key), nullptr, nullptr);
  }
  return file;
}

namespace {

// Where each entity of a file goes when written: under one parent, or at the top level.
struct Placement {
  const Nesting* nesting = nullptr;  // null: top level
  std::size_t parent = 0;            // index in the parent type's list
};

class Writer {
 public:
  // Parents are found through maps and children listed per parent once: a dump of 20 000
  // services with 20 000 routes took 30 s when each child searched its parent's list.
  explicit Writer(const DeckFile& file) : file_(file) {
    for (const auto& [name, list] : file.entities) {
      placements_[name].assign(list.size(), Placement{});
      const auto* e = file_entity(name);
      auto& lookup = lookups_[name];
      for (std::size_t i = 0; i < list.size(); ++i) {
        if (auto id = id_of(list[i]); !id.empty()) lookup.by_id.emplace(id, i);
        if (e) {
          if (auto key = key_value(*e, list[i]); !key.empty()) lookup.by_key.emplace(key, i);
        }
      }
    }
    for (const auto& [name, list] : file.entities) {
      const auto* e = file_entity(name);
      if (!e) continue;
      for (std::size_t i = 0; i < list.size(); ++i) {
        const auto placement = place(*e, list[i]);
        placements_[name][i] = placement;
        if (placement.nesting) children_[{placement.nesting, placement.parent}].push_back(i);
      }
    }
    place_memberships();
  }

  boost::json::object write() const {
    boost::json::object out;
    out["_format_version"] = file_.format_version;
    if (!file_.select_tags.empty()) {
      boost::json::array tags;
      for (const auto& t : file_.select_tags) tags.emplace_back(t);
      out["_info"] = boost::json::object{{"select_tags", std::move(tags)}};
    }
    for (const auto* e : registry().entities()) {
      auto it = file_.entities.find(e->def.name);
      if (it == file_.entities.end() || !file_entity(e->def.name)) continue;
      boost::json::array list;
      for (std::size_t i :
           sorted(*e, [&](std::size_t j) { return placements_.at(e->def.name)[j].nesting == nullptr; })) {
        list.push_back(render(*e, i, nullptr));
      }
      if (!list.empty()) out[e->def.name] = std::move(list);
    }
    return out;
  }

 private:
  // Under the one parent its foreign keys name, if exactly one nesting field is set and that
  // parent is in the file.
  Placement place(const ConfigEntity& e, const boost::json::object& entity) const {
    Placement found;
    int set = 0;
    for (const auto& n : registry().nestings()) {
      if (n.child != &e) continue;
      const auto* ref = entity.if_contains(n.field);
      if (!ref || ref->is_null()) continue;
      ++set;
      if (auto parent = find_parent(n, *ref)) found = Placement{&n, *parent};
    }
    return set == 1 ? found : Placement{};
  }

  std::optional<std::size_t> find_parent(const Nesting& n, const boost::json::value& ref) const {
    return find(*n.parent, ref);
  }

  // The index of the entity of type `e` a reference ({"id": …} or by endpoint key) names.
  std::optional<std::size_t> find(const ConfigEntity& e, const boost::json::value& ref) const {
    if (!ref.is_object()) return std::nullopt;
    auto it = lookups_.find(e.def.name);
    if (it == lookups_.end()) return std::nullopt;
    const auto& r = ref.get_object();
    if (const auto* id = r.if_contains("id"); id && id->is_string()) {
      auto found = it->second.by_id.find(std::string(id->get_string()));
      return found == it->second.by_id.end() ? std::nullopt : std::optional<std::size_t>(found->second);
    }
    const auto& key = e.def.endpoint_key;
    if (const auto* k = key.empty() ? nullptr : r.if_contains(key); k && k->is_string()) {
      auto found = it->second.by_key.find(std::string(k->get_string()));
      if (found != it->second.by_key.end()) return found->second;
    }
    return std::nullopt;
  }

  // Each membership inside its consumer (as decK writes it), else inside its group when only
  // the group is in the file; one naming neither is left out (it cannot be written).
  void place_memberships() {
    auto it = file_.entities.find(registry().membership().def.name);
    if (it == file_.entities.end()) return;
    for (const auto& m : it->second) {
      for (const auto* form : {&kConsumersGroups, &kGroupsConsumers}) {
        const auto* owner_ref = m.if_contains(form->owner_field);
        const auto* other_ref = m.if_contains(form->other_field);
        const auto* owner = file_entity(form->owner);
        const auto* other = file_entity(form->other);
        if (!owner_ref || !other_ref || !owner || !other) continue;
        const auto at = find(*owner, *owner_ref);
        if (!at) continue;
        members_[{form, *at}].push_back(named(*other, *other_ref));
        break;
      }
    }
  }

  // A reference as a file names it: by endpoint key when the entity is in the file and has one.
  boost::json::object named(const ConfigEntity& e, const boost::json::value& ref) const {
    if (auto at = find(e, ref)) {
      const auto& entity = file_.entities.at(e.def.name)[*at];
      if (auto key = key_value(e, entity); !key.empty()) return {{e.def.endpoint_key, key}};
    }
    return ref.is_object() ? ref.get_object() : boost::json::object{};
  }

  // Indexes of `e`'s entities that `keep` selects, by endpoint key, then id, then file order.
  std::vector<std::size_t> sorted(const ConfigEntity& e, const std::function<bool(std::size_t)>& keep) const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < file_.entities.at(e.def.name).size(); ++i) {
      if (keep(i)) out.push_back(i);
    }
    return sorted(e, std::move(out));
  }
  std::vector<std::size_t> sorted(const ConfigEntity& e, std::vector<std::size_t> out) const {
    const auto& list = file_.entities.at(e.def.name);
    std::stable_sort(out.begin(), out.end(), [&](std::size_t a, std::size_t b) {
      const auto ka = key_value(e, list[a]), kb = key_value(e, list[b]);
      if (ka != kb) return ka < kb;
      return id_of(list[a]) < id_of(list[b]);
    });
    return out;
  }

  boost::json::object render(const ConfigEntity& e, std::size_t i, const Nesting* nested) const {
    boost::json::object out = file_.entities.at(e.def.name)[i];
    if (nested) out.erase(nested->field);
    for (const auto& n : registry().nestings()) {
      if (n.parent != &e) continue;
      auto it = file_.entities.find(n.child->def.name);
      if (it == file_.entities.end()) continue;
      auto listed = children_.find({&n, i});
      if (listed == children_.end()) continue;
      boost::json::array children;
      for (std::size_t j : sorted(*n.child, listed->second)) children.push_back(render(*n.child, j, &n));

      if (!children.empty()) out[n.child->def.name] = std::move(children);
    }
    for (const auto* form : {&kConsumersGroups, &kGroupsConsumers}) {
      if (e.def.name != form->owner) continue;
      auto listed = members_.find({form, i});
      if (listed == members_.end()) continue;
      auto refs = listed->second;
      std::sort(refs.begin(), refs.end(),
                [](const auto& a, const auto& b) { return boost::json::serialize(a) < boost::json::serialize(b); });
      out[form->key] = boost::json::array(refs.begin(), refs.end());
    }
    return out;
  }

  struct Lookup {
    std::unordered_map<std::string, std::size_t> by_id, by_key;
  };
  const DeckFile& file_;
  std::map<std::string, std::vector<Placement>> placements_;
  std::map<std::string, Lookup> lookups_;
  std::map<std::pair<const Nesting*, std::size_t>, std::vector<std::size_t>> children_;
  std::map<std::pair<const MembershipForm*, std::size_t>, std::vector<boost::json::object>> members_;
};

}  // namespace

boost::json::value write_deck(const DeckFile& file) { return Writer(file).write(); }

}  // namespace ok::declarative
