#pragma once
// The EntityStore of the SQL store. Four fixed tables hold every entity type (migration
// 4): the entities themselves (JSON), their unique keys, their references, and their tags. A new
// entity type needs no SQL of its own.

#include "store/entity_store.hpp"

namespace ok::store::sql {

class SqlStore;

class SqlEntityStore final : public EntityStore {
 public:
  explicit SqlEntityStore(SqlStore& db) : db_(db) {}

  std::optional<StoredEntity> get(const Scope& scope, const std::string& type, const EntityKey& key) override;
  EntityPage page(const Scope& scope, const EntityPageQuery& query) override;
  std::vector<StoredEntity> referencing(const Scope& scope, const std::string& parent_type,
                                        const std::string& parent_id, const std::string& child_type,
                                        const std::string& field) override;
  void write(const Scope& scope, const std::function<void(EntityTransaction&)>& work) override;
  void write_then(const Scope& scope, std::function<void(EntityTransaction&)> work, WriteDone done) override;

 private:
  SqlStore& db_;
};

}  // namespace ok::store::sql
