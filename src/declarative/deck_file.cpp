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

// The entities a file may hold (the registry's, less consumer-group membership, which decK
// writes as a consumer's `groups` and which is not read here yet).
const ConfigEntity* file_entity(std::string_view name) {
  const auto* e = registry().by_name(name);
  return e && e != &registry().membership() ? e : nullptr;
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
    for (const auto& [key, value] : item.get_object()) {
      if (const auto* n = nested_under(e, key)) {
        children.emplace_back(n, &value);
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
    if (auto id = id_of(parent); !id.empty()) return {{"id", id}};
    const auto* field = n.child->def.find(n.field);
    const std::string key = field ? field->reference_key : std::string();
    if (!key.empty()) {
      if (const auto* v = parent.if_contains(key); v && v->is_string()) return {{key, *v}};
    }
    throw FileError(fmt::format("{}: its {} has neither an id nor a [{}] to be named by", where, n.parent->def.display,
                                key.empty() ? "id" : key));
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
      if (it == file_.entities.end()) continue;
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
    if (!ref.is_object()) return std::nullopt;
    auto it = lookups_.find(n.parent->def.name);
    if (it == lookups_.end()) return std::nullopt;
    const auto& r = ref.get_object();
    if (const auto* id = r.if_contains("id"); id && id->is_string()) {
      auto found = it->second.by_id.find(std::string(id->get_string()));
      return found == it->second.by_id.end() ? std::nullopt : std::optional<std::size_t>(found->second);
    }
    const auto& key = n.parent->def.endpoint_key;
    if (const auto* k = key.empty() ? nullptr : r.if_contains(key); k && k->is_string()) {
      auto found = it->second.by_key.find(std::string(k->get_string()));
      if (found != it->second.by_key.end()) return found->second;
    }
    return std::nullopt;
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
    return out;
  }

  struct Lookup {
    std::unordered_map<std::string, std::size_t> by_id, by_key;
  };
  const DeckFile& file_;
  std::map<std::string, std::vector<Placement>> placements_;
  std::map<std::string, Lookup> lookups_;
  std::map<std::pair<const Nesting*, std::size_t>, std::vector<std::size_t>> children_;
};

}  // namespace

boost::json::value write_deck(const DeckFile& file) { return Writer(file).write(); }

}  // namespace ok::declarative
