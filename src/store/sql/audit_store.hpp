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

  void ingest_records(const std::vector<AuditRecord>& records, const std::string& journal,
                      std::int64_t read_to) override;
  std::int64_t journal_read_to(const std::string& journal) override;
  void forget_journal(const std::string& journal) override;
  std::vector<AuditRecord> records_after(const OrgId& org, std::int64_t after_seq, std::size_t limit) override;
  std::vector<AuditRecord> records_between(const OrgId& org, std::int64_t from_ms, std::int64_t to_ms,
                                           std::int64_t after_seq, std::size_t limit) override;
  std::size_t purge_expired_records(std::int64_t now_ms, std::int64_t unowned_days) override;
  std::vector<std::pair<OrgId, std::string>> settings_of_kind(std::string_view kind) override;

  std::vector<AuditSigningKey> signing_keys() override;
  AuditSigningKey active_signing_key(const std::function<AuditSigningKey()>& generate) override;
  void rotate_signing_key(const AuditSigningKey& next) override;

 private:
  SqlStore& db_;
};

}  // namespace ok::store::sql
