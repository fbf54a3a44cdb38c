#pragma once
// The AuditStore of the SQL store (migration 6).

#include "store/audit_store.hpp"

namespace ok::store::sql {

class SqlStore;

class SqlAuditStore final : public AuditStore {
 public:
  explicit SqlAuditStore(SqlStore& db) : db_(db) {}

  std::optional<std::string> setting(const OrgId& org, std::string_view kind) override;
  void put_setting(const OrgId& org, std::string_view kind, const std::string& json) override;
  bool put_setting_if(const OrgId& org, std::string_view kind, const std::string& json,
                      const std::function<bool(const std::optional<std::string>&)>& applies) override;

  std::vector<AuditSigningKey> signing_keys() override;
  AuditSigningKey active_signing_key(const std::function<AuditSigningKey()>& generate) override;
  void rotate_signing_key(const AuditSigningKey& next) override;

 private:
  SqlStore& db_;
};

}  // namespace ok::store::sql
