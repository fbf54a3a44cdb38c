#pragma once
// What audit logging persists: each organization's audit settings (the webhook, the replay
// job), each one a JSON document the API layer validates and renders, and the installation's
// Ed25519 signing keys. Keys are the installation's, not an organization's: Konnect serves one
// JWKS per region, and a receiver verifies entries with whatever key id an entry names, so
// rotated keys stay listed (retired, never deleted).

#include "store/records.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ok::store {

struct AuditSigningKey {
  std::string kid;          // hex SHA-1 of the raw public key, as Konnect's key ids look
  std::string private_pem;  // PKCS#8
  std::string public_raw;   // the 32-byte public key, base64url (the JWK's `x`)
  std::int64_t created_at = 0;
  std::optional<std::int64_t> retired_at;
};

// One audit record: the entry as audit::encode() wrote it, numbered in the order records were
// committed (a delivery cursor moves along `seq`; batches are serialized across nodes, so a
// number is never committed after a higher one).
struct AuditRecord {
  std::int64_t seq = 0;
  std::string org_id;
  std::int64_t ts_ms = 0;
  std::string entry;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

  // Stores records read from an audit journal file (audit/journal.hpp) together with how far
  // the file has been read, in one transaction: after a crash, reading resumes at `read_to`
  // and no record is lost or stored twice.
  virtual void ingest_records(const std::vector<AuditRecord>& records, const std::string& journal,
                              std::int64_t read_to) = 0;
  // How far a journal file has been stored (0 for one never seen).
  virtual std::int64_t journal_read_to(const std::string& journal) = 0;
  // Once a finished journal file is deleted.
  virtual void forget_journal(const std::string& journal) = 0;
  // An organization's records after `after_seq`, oldest first, at most `limit`.
  virtual std::vector<AuditRecord> records_after(const OrgId& org, std::int64_t after_seq, std::size_t limit) = 0;
  // Its records written in [from_ms, to_ms] after `after_seq`, oldest first (a replay job).
  virtual std::vector<AuditRecord> records_between(const OrgId& org, std::int64_t from_ms, std::int64_t to_ms,
                                                   std::int64_t after_seq, std::size_t limit) = 0;
  // Deletes records older than their organization's retention_period_days (records of no
  // organization: `unowned_days`), in whole blocks (a block goes once its newest record is
  // that old); returns how many blocks. The newest block of all is kept, so that numbering
  // never starts again below a delivery cursor.
  virtual std::size_t purge_expired_records(std::int64_t now_ms, std::int64_t unowned_days) = 0;
  // Every organization that has a setting of this kind, with it.
  virtual std::vector<std::pair<OrgId, std::string>> settings_of_kind(std::string_view kind) = 0;

  // One organization's setting of one kind ("webhook", "replay_job"): its JSON, or nullopt.
  virtual std::optional<std::string> setting(const OrgId& org, std::string_view kind) = 0;
  // Inserts or replaces it; durable on return.
  virtual void put_setting(const OrgId& org, std::string_view kind, const std::string& json) = 0;
  // Replaces it only while `applies(current)` holds (nullopt: none yet), atomically with the
  // check; returns whether it did. A replay job is not replaced while it runs.
  virtual bool put_setting_if(const OrgId& org, std::string_view kind, const std::string& json,
                              const std::function<bool(const std::optional<std::string>&)>& applies) = 0;

  // Every signing key, newest first.
  virtual std::vector<AuditSigningKey> signing_keys() = 0;
  // The key to sign with: the newest not retired, else the one `generate` makes, stored first
  // (several nodes starting together keep the first stored).
  virtual AuditSigningKey active_signing_key(const std::function<AuditSigningKey()>& generate) = 0;
  // Retires every key and stores `next` as the active one; old keys stay in the JWKS.
  virtual void rotate_signing_key(const AuditSigningKey& next) = 0;
};

}  // namespace ok::store
