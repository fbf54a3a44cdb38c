#pragma once
// The store of gateway configuration entities: one narrow interface for every entity type,
// over a Scope (an organization's control plane). The store knows nothing of the entities'
// schemas: a write hands it an EntityRow — the entity's rendered JSON plus what the store must
// enforce (unique keys, references and what deleting their target does, tags) — and the store
// keeps those invariants inside the write transaction, so concurrent requests cannot break
// them.
//
// Errors: ConflictError (a unique key is taken; its constraint is "<type>:<key>"),
// MissingReferenceError (a reference names nothing), ReferencedError (a delete refused
// because others still reference the entity), UnavailableError (503).

#include "store/errors.hpp"
#include "store/records.hpp"

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ok::store {

// Told how a write that nobody waits for ended: nullptr once it is durable, else its error.
using WriteDone = std::function<void(std::exception_ptr)>;

// An organization's control plane: the only scope entities live in. It is made only from a
// ControlPlane record (which the store returned for the caller's organization), so a handler
// cannot reach the entities of a control plane it did not load for its own organization.
class Scope {
 public:
  static Scope of(const ControlPlane& cp) { return Scope(OrgId(cp.org_id), cp.id); }
  const OrgId& org() const { return org_; }
  const std::string& control_plane_id() const { return control_plane_id_; }

 private:
  Scope(OrgId org, std::string control_plane_id)
      : org_(std::move(org)), control_plane_id_(std::move(control_plane_id)) {}
  OrgId org_;
  std::string control_plane_id_;
};

// What deleting a referenced entity does to the entity holding the reference.
enum class OnDelete { restrict = 0, cascade = 1, restrict_unless_forced = 2 };

// An edge from the entity holding a reference to the entity it references.
struct Reference {
  std::string field;  // "service", "ca_certificates"
  std::string parent_type;
  std::string parent_id;
  OnDelete on_delete = OnDelete::restrict;
};

struct EntityRow {
  std::string type;  // "services"
  std::string id;
  std::string body;  // the entity as clients see it (JSON)
  // Unique within the type and scope: (key name, value). Composite keys join their fields'
  // names with ',' and their values with '\x1f'.
  std::vector<std::pair<std::string, std::string>> unique_keys;
  std::vector<Reference> references;
  std::vector<std::string> tags;
};

struct StoredEntity {
  std::string id;
  std::string body;
};

// An entity picked by its id (`name` "id") or by one of its unique keys.
struct EntityKey {
  std::string name;
  std::string value;
};

struct TagFilter {
  std::vector<std::string> tags;  // empty: no filter
  bool any = false;               // false: every tag (a,b); true: any of them (a/b)
};

// A condition on a top-level member of the entity's JSON.
struct FieldFilter {
  std::string field;
  enum class Op { eq, contains } op = Op::eq;  // contains: case-insensitive substring
  std::string value;
};

struct EntityPageQuery {
  std::string type;
  std::int64_t size = 100;
  std::string after_id;  // the page starts after this id (ids ascend); empty: from the start
  // Only entities that reference this parent through `parent.field` (nested lists).
  std::optional<Reference> parent;
  TagFilter tags;
  std::vector<FieldFilter> filters;
};

struct EntityPage {
  std::vector<StoredEntity> items;
  bool more = false;  // another page follows
};

// A unique key already held by another entity of the type.
class UniqueViolation : public ConflictError {
 public:
  UniqueViolation(std::string type, std::string key, std::string value, std::string holder_id)
      : ConflictError(type + ":" + key),
        key_(std::move(key)),
        value_(std::move(value)),
        holder_id_(std::move(holder_id)) {}
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  const std::string& holder_id() const { return holder_id_; }

 private:
  std::string key_, value_, holder_id_;
};

class MissingReferenceError : public std::runtime_error {
 public:
  explicit MissingReferenceError(Reference reference)
      : std::runtime_error("missing reference: " + reference.field), reference_(std::move(reference)) {}
  const Reference& reference() const { return reference_; }

 private:
  Reference reference_;
};

// A delete refused: entities of `child_type` (ids listed, at most a few) still reference the
// entity through references whose on_delete is restrict (or restrict_unless_forced without force).
class ReferencedError : public std::runtime_error {
 public:
  ReferencedError(std::string child_type, std::vector<std::string> child_ids)
      : std::runtime_error("referenced by " + child_type),
        child_type_(std::move(child_type)),
        child_ids_(std::move(child_ids)) {}
  const std::string& child_type() const { return child_type_; }
  const std::vector<std::string>& child_ids() const { return child_ids_; }

 private:
  std::string child_type_;
  std::vector<std::string> child_ids_;
};

// Reads and writes inside one write transaction (the caller's `work`).
class EntityTransaction {
 public:
  virtual ~EntityTransaction() = default;
  virtual std::optional<StoredEntity> get(const std::string& type, const EntityKey& key) = 0;
  // Inserts `row`, or replaces the entity of its type and id: its unique keys, references and
  // tags become exactly the row's. Throws UniqueViolation or MissingReferenceError.
  virtual void put(const EntityRow& row) = 0;
  // Deletes an entity, and what references it according to each reference's on_delete,
  // recursively. Throws ReferencedError when a restricting reference remains (nothing is
  // deleted then). `force` turns restrict_unless_forced into cascade. False when it was absent.
  virtual bool remove(const std::string& type, const std::string& id, bool force) = 0;
  // Entities of `child_type` referencing (parent_type, parent_id) through `field`, by id.
  virtual std::vector<StoredEntity> referencing(const std::string& parent_type, const std::string& parent_id,
                                                const std::string& child_type, const std::string& field) = 0;
};

class EntityStore {
 public:
  virtual ~EntityStore() = default;

  virtual std::optional<StoredEntity> get(const Scope& scope, const std::string& type, const EntityKey& key) = 0;
  virtual EntityPage page(const Scope& scope, const EntityPageQuery& query) = 0;
  // Entities of `child_type` referencing the parent through `field` (every one: callers use it
  // where the number is small by nature, such as a certificate's SNIs).
  virtual std::vector<StoredEntity> referencing(const Scope& scope, const std::string& parent_type,
                                                const std::string& parent_id, const std::string& child_type,
                                                const std::string& field) = 0;
  // Runs `work` in one durable write transaction: everything it does commits together when it
  // returns, or nothing does when it throws (the exception then reaches the caller).
  virtual void write(const Scope& scope, const std::function<void(EntityTransaction&)>& work) = 0;
  // The same without waiting: returns at once; `done` runs on a store thread once the write is
  // durable (nullptr) or has failed (the exception `work` or the commit threw). `done` must be
  // quick and must not throw.
  virtual void write_then(const Scope& scope, std::function<void(EntityTransaction&)> work, WriteDone done) = 0;

  // Told, after each write that committed, whose configuration changed (the data-plane hub
  // renders it again). Set once, before serving; it must be quick and must not throw.
  void on_committed(std::function<void(const Scope&)> listener) { committed_listener_ = std::move(listener); }

 protected:
  void committed(const Scope& scope) const {
    if (committed_listener_) committed_listener_(scope);
  }

 private:
  std::function<void(const Scope&)> committed_listener_;
};

}  // namespace ok::store
