#include "store/sql/entity_store.hpp"

#include "store/sql/sql_store.hpp"
#include "util/utf8.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <deque>
#include <set>

namespace ok::store::sql {
namespace {

namespace bj = boost::json;

// A delete refused names at most this many of the entities in the way.
constexpr std::size_t kListedReferrers = 5;

std::optional<StoredEntity> get_entity(Connection& c, const std::string& cp, const std::string& type,
                                       const EntityKey& key) {
  // Every stored key is valid UTF-8 text (entities are validated), so bytes that are not can
  // name nothing; PostgreSQL would refuse to even compare them.
  if (!util::is_utf8(key.value)) return std::nullopt;
  if (key.name == "id") {
    Query q(c, "SELECT id, body FROM config_entities WHERE control_plane_id = ? AND type = ? AND id = ?");
    q->bind(1, cp).bind(2, type).bind(3, key.value);
    if (!q->step()) return std::nullopt;
    return StoredEntity{q->text(0), q->text(1)};
  }
  Query q(c,
          "SELECT e.id, e.body FROM config_unique u JOIN config_entities e ON e.control_plane_id = u.control_plane_id "
          "AND e.type = u.type AND e.id = u.id WHERE u.control_plane_id = ? AND u.type = ? AND u.key = ? AND "
          "u.value = ?");
  q->bind(1, cp).bind(2, type).bind(3, key.name).bind(4, key.value);
  if (!q->step()) return std::nullopt;
  return StoredEntity{q->text(0), q->text(1)};
}

std::vector<StoredEntity> referencing_entities(Connection& c, const std::string& cp, const std::string& parent_type,
                                               const std::string& parent_id, const std::string& child_type,
                                               const std::string& field) {
  Query q(c,
          "SELECT e.id, e.body FROM config_references r JOIN config_entities e ON e.control_plane_id = "
          "r.control_plane_id AND e.type = r.child_type AND e.id = r.child_id WHERE r.control_plane_id = ? AND "
          "r.parent_type = ? AND r.parent_id = ? AND r.child_type = ? AND r.field = ? ORDER BY r.child_id");
  q->bind(1, cp).bind(2, parent_type).bind(3, parent_id).bind(4, child_type).bind(5, field);
  std::vector<StoredEntity> out;
  while (q->step()) out.push_back({q->text(0), q->text(1)});
  return out;
}

std::string encode_keys(const std::vector<std::pair<std::string, std::string>>& keys) {
  bj::array a;
  for (const auto& [k, v] : keys) a.emplace_back(bj::array{bj::string(k), bj::string(v)});
  return bj::serialize(a);
}

std::string encode_tags(const std::vector<std::string>& tags) {
  bj::array a;
  for (const auto& t : tags) a.emplace_back(t);
  return bj::serialize(a);
}

// What an entity row holds besides its body: the keys and tags it owns, to delete them exactly.
struct Owned {
  std::vector<std::pair<std::string, std::string>> keys;
  std::vector<std::string> tags;
};

std::optional<Owned> owned_by(Connection& c, const std::string& cp, const std::string& type, const std::string& id) {
  Query q(c, "SELECT unique_keys, tags FROM config_entities WHERE control_plane_id = ? AND type = ? AND id = ?");
  q->bind(1, cp).bind(2, type).bind(3, id);
  if (!q->step()) return std::nullopt;
  Owned owned;
  const auto keys = bj::parse(q->text(0));
  const auto tags = bj::parse(q->text(1));
  for (const auto& pair : keys.as_array()) {
    const auto& kv = pair.as_array();
    owned.keys.emplace_back(std::string(kv[0].as_string()), std::string(kv[1].as_string()));
  }
  for (const auto& tag : tags.as_array()) owned.tags.emplace_back(tag.as_string());
  return owned;
}

// Removes what an entity owns in the side tables: its keys, tags and outgoing references.
void release(Connection& c, const std::string& cp, const std::string& type, const std::string& id, const Owned& owned) {
  Query key(c,
            "DELETE FROM config_unique WHERE control_plane_id = ? AND type = ? AND key = ? AND value = ? AND id = ?");
  for (const auto& [k, v] : owned.keys) {
    key->bind(1, cp).bind(2, type).bind(3, k).bind(4, v).bind(5, id).run();
    key->reset();
  }
  Query tag(c, "DELETE FROM config_tags WHERE control_plane_id = ? AND type = ? AND tag = ? AND id = ?");
  for (const auto& t : owned.tags) {
    tag->bind(1, cp).bind(2, type).bind(3, t).bind(4, id).run();
    tag->reset();
  }
  Query refs(c, "DELETE FROM config_references WHERE control_plane_id = ? AND child_type = ? AND child_id = ?");
  refs->bind(1, cp).bind(2, type).bind(3, id).run();
}

class Transaction final : public EntityTransaction {
 public:
  Transaction(Connection& c, const Scope& scope) : c_(c), cp_(scope.control_plane_id()) {}

  std::optional<StoredEntity> get(const std::string& type, const EntityKey& key) override {
    return get_entity(c_, cp_, type, key);
  }

  std::vector<StoredEntity> referencing(const std::string& parent_type, const std::string& parent_id,
                                        const std::string& child_type, const std::string& field) override {
    return referencing_entities(c_, cp_, parent_type, parent_id, child_type, field);
  }

  void put(const EntityRow& row) override {
    // Everything that can refuse the write is checked before anything changes, so a refused
    // put leaves the entity as it was, even for a caller that goes on with its transaction.
    Query holder(c_, "SELECT id FROM config_unique WHERE control_plane_id = ? AND type = ? AND key = ? AND value = ?");
    for (const auto& [k, v] : row.unique_keys) {
      holder->bind(1, cp_).bind(2, row.type).bind(3, k).bind(4, v);
      if (holder->step() && holder->text(0) != row.id) throw UniqueViolation(row.type, k, v, holder->text(0));
      holder->reset();
    }
    Query parent(c_, "SELECT 1 FROM config_entities WHERE control_plane_id = ? AND type = ? AND id = ?");
    for (const auto& r : row.references) {
      parent->bind(1, cp_).bind(2, r.parent_type).bind(3, r.parent_id);
      if (!parent->step()) throw MissingReferenceError(r);
      parent->reset();
    }

    const auto existing = owned_by(c_, cp_, row.type, row.id);
    if (existing) release(c_, cp_, row.type, row.id, *existing);
    Query insert_key(c_, "INSERT INTO config_unique (control_plane_id, type, key, value, id) VALUES (?, ?, ?, ?, ?)");
    for (const auto& [k, v] : row.unique_keys) {
      insert_key->bind(1, cp_).bind(2, row.type).bind(3, k).bind(4, v).bind(5, row.id).run();
      insert_key->reset();
    }
    Query insert_ref(c_,
                     "INSERT INTO config_references (control_plane_id, parent_type, parent_id, child_type, "
                     "child_id, field, on_delete) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING");
    for (const auto& r : row.references) {
      insert_ref->bind(1, cp_).bind(2, r.parent_type).bind(3, r.parent_id).bind(4, row.type).bind(5, row.id);
      insert_ref->bind(6, r.field).bind(7, static_cast<int>(r.on_delete)).run();
      insert_ref->reset();
    }
    Query insert_tag(
        c_, "INSERT INTO config_tags (control_plane_id, type, tag, id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING");
    for (const auto& t : row.tags) {
      insert_tag->bind(1, cp_).bind(2, row.type).bind(3, t).bind(4, row.id).run();
      insert_tag->reset();
    }

    const auto keys = encode_keys(row.unique_keys);
    const auto tags = encode_tags(row.tags);
    if (existing) {
      Query update(c_,
                   "UPDATE config_entities SET body = ?, unique_keys = ?, tags = ? WHERE control_plane_id = ? AND "
                   "type = ? AND id = ?");
      update->bind(1, row.body).bind(2, keys).bind(3, tags).bind(4, cp_).bind(5, row.type).bind(6, row.id).run();
    } else {
      Query insert(c_,
                   "INSERT INTO config_entities (control_plane_id, type, id, body, unique_keys, tags) VALUES (?, ?, ?, "
                   "?, ?, ?)");
      insert->bind(1, cp_).bind(2, row.type).bind(3, row.id).bind(4, row.body).bind(5, keys).bind(6, tags).run();
    }
  }

  bool remove(const std::string& type, const std::string& id, bool force) override {
    if (!owned_by(c_, cp_, type, id)) return false;
    // The closure of what goes: the entity, and what references it through cascading
    // references, recursively. Restricting references are checked once the closure is known:
    // a referrer that goes anyway (through another cascade) does not hold the delete up.
    using Node = std::pair<std::string, std::string>;
    std::set<Node> doomed{{type, id}};
    std::deque<Node> queue{{type, id}};
    std::vector<Node> restricting;
    Query children(c_,
                   "SELECT child_type, child_id, on_delete FROM config_references WHERE control_plane_id = ? AND "
                   "parent_type = ? AND parent_id = ?");
    while (!queue.empty()) {
      const auto [t, i] = queue.front();
      queue.pop_front();
      children->bind(1, cp_).bind(2, t).bind(3, i);
      while (children->step()) {
        Node child{children->text(0), children->text(1)};
        const auto on_delete = static_cast<OnDelete>(children->integer(2));
        const bool cascades =
            on_delete == OnDelete::cascade || (on_delete == OnDelete::restrict_unless_forced && force);
        if (!cascades) {
          restricting.push_back(child);
        } else if (doomed.insert(child).second) {
          queue.push_back(child);
        }
      }
      children->reset();
    }
    std::vector<std::string> blocking_ids;
    std::string blocking_type;
    for (const auto& node : restricting) {
      if (doomed.count(node)) continue;
      if (blocking_type.empty()) blocking_type = node.first;
      if (node.first == blocking_type && blocking_ids.size() < kListedReferrers &&
          std::find(blocking_ids.begin(), blocking_ids.end(), node.second) == blocking_ids.end()) {
        blocking_ids.push_back(node.second);
      }
    }
    if (!blocking_type.empty()) throw ReferencedError(blocking_type, std::move(blocking_ids));

    Query entity(c_, "DELETE FROM config_entities WHERE control_plane_id = ? AND type = ? AND id = ?");
    Query incoming(c_,
                   "DELETE FROM config_references WHERE control_plane_id = ? AND parent_type = ? AND parent_id = ?");
    for (const auto& [t, i] : doomed) {
      if (const auto owned = owned_by(c_, cp_, t, i)) release(c_, cp_, t, i, *owned);
      incoming->bind(1, cp_).bind(2, t).bind(3, i).run();
      incoming->reset();
      entity->bind(1, cp_).bind(2, t).bind(3, i).run();
      entity->reset();
    }
    return true;
  }

 private:
  Connection& c_;
  std::string cp_;
};

// A top-level member's name as an SQL literal. Filter fields come from the API's own list of
// filterable fields, never from a client; the check keeps it that way.
std::string member_literal(const std::string& field) {
  if (field.empty() ||
      !std::all_of(field.begin(), field.end(), [](unsigned char ch) { return std::isalnum(ch) || ch == '_'; })) {
    throw std::invalid_argument("unsupported filter field");
  }
  return "'" + field + "'";
}

}  // namespace

std::optional<StoredEntity> SqlEntityStore::get(const Scope& scope, const std::string& type, const EntityKey& key) {
  auto c = db_.reader();
  return get_entity(*c, scope.control_plane_id(), type, key);
}

std::vector<StoredEntity> SqlEntityStore::referencing(const Scope& scope, const std::string& parent_type,
                                                      const std::string& parent_id, const std::string& child_type,
                                                      const std::string& field) {
  auto c = db_.reader();
  return referencing_entities(*c, scope.control_plane_id(), parent_type, parent_id, child_type, field);
}

EntityPage SqlEntityStore::page(const Scope& scope, const EntityPageQuery& query) {
  // The page is driven by an index range that is already in id order, so it costs O(page)
  // whatever the table's size: the nested parent's references, the first tag of an AND, or
  // the type's own ids.
  std::vector<std::string> binds;
  std::string from;
  std::string where;
  std::string order_column;
  const auto& cp = scope.control_plane_id();
  if (query.parent) {
    from =
        "config_references d JOIN config_entities e ON e.control_plane_id = d.control_plane_id AND e.type = "
        "d.child_type AND e.id = d.child_id";
    where = "d.control_plane_id = ? AND d.parent_type = ? AND d.parent_id = ? AND d.child_type = ? AND d.field = ?";
    binds = {cp, query.parent->parent_type, query.parent->parent_id, query.type, query.parent->field};
    order_column = "d.child_id";
  } else if (!query.tags.tags.empty() && !query.tags.any) {
    from =
        "config_tags d JOIN config_entities e ON e.control_plane_id = d.control_plane_id AND e.type = d.type AND e.id "
        "= d.id";
    where = "d.control_plane_id = ? AND d.type = ? AND d.tag = ?";
    binds = {cp, query.type, query.tags.tags.front()};
    order_column = "d.id";
  } else {
    from = "config_entities e";
    where = "e.control_plane_id = ? AND e.type = ?";
    binds = {cp, query.type};
    order_column = "e.id";
  }
  if (!query.after_id.empty()) {
    where += " AND " + order_column + " > ?";
    binds.push_back(query.after_id);
  }
  const auto tag_exists = [&](std::size_t n) {
    std::string placeholders;
    for (std::size_t i = 0; i < n; ++i) placeholders += i ? ", ?" : "?";
    return " AND EXISTS (SELECT 1 FROM config_tags t WHERE t.control_plane_id = e.control_plane_id AND t.type = "
           "e.type AND t.tag IN (" +
           placeholders + ") AND t.id = e.id)";
  };
  if (!query.tags.tags.empty()) {
    if (query.tags.any) {
      where += tag_exists(query.tags.tags.size());
      binds.insert(binds.end(), query.tags.tags.begin(), query.tags.tags.end());
    } else {
      // Each tag after the one driving (or all, when a parent drives) must be there too.
      const std::size_t first = query.parent ? 0 : 1;
      for (std::size_t i = first; i < query.tags.tags.size(); ++i) {
        where += tag_exists(1);
        binds.push_back(query.tags.tags[i]);
      }
    }
  }
  const auto& d = db_.dialect();
  for (const auto& f : query.filters) {
    const auto member = d.json_member("e.body", member_literal(f.field));
    if (f.op == FieldFilter::Op::eq) {
      where += " AND " + member + " = ?";
    } else {
      where += " AND " + d.position(d.casefold(member), d.casefold("?")) + " > 0";
    }
    binds.push_back(f.value);
  }
  const auto sql = fmt::format("SELECT e.id, e.body FROM {} WHERE {} ORDER BY {} LIMIT ?", from, where, order_column);
  auto c = db_.reader();
  // Plain pages repeat the same few statements: cached. Filtered ones vary with the filters.
  const bool plain = query.tags.tags.empty() && query.filters.empty();
  Query q(*c, sql, plain ? Query::Caching::cached : Query::Caching::uncached);
  int i = 1;
  for (const auto& b : binds) q->bind(i++, b);
  q->bind(i, query.size + 1);
  EntityPage page;
  while (q->step()) {
    if (static_cast<std::int64_t>(page.items.size()) == query.size) {
      page.more = true;
      break;
    }
    page.items.push_back({q->text(0), q->text(1)});
  }
  return page;
}

void SqlEntityStore::write(const Scope& scope, const std::function<void(EntityTransaction&)>& work) {
  db_.write({scope.org().str(), scope.control_plane_id()}, [&](Connection& c) {
    Transaction tx(c, scope);
    work(tx);
  });
  committed(scope);
}

void SqlEntityStore::write_then(const Scope& scope, std::function<void(EntityTransaction&)> work, WriteDone done) {
  db_.write_then(
      {scope.org().str(), scope.control_plane_id()},
      [scope, work = std::move(work)](Connection& c) {
        Transaction tx(c, scope);
        work(tx);
      },
      [this, scope, done = std::move(done)](std::exception_ptr error) {
        if (!error) committed(scope);
        done(error);
      });
}

}  // namespace ok::store::sql
