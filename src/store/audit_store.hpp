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
#include <vector>

namespace ok::store {

struct AuditSigningKey {
  std::string kid;          // hex SHA-1 of the raw public key, as Konnect's key ids look
  std::string private_pem;  // PKCS#8
  std::string public_raw;   // the 32-byte public key, base64url (the JWK's `x`)
  std::int64_t created_at = 0;
  std::optional<std::int64_t> retired_at;
};

class AuditStore {
 public:
  virtual ~AuditStore() = default;

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
