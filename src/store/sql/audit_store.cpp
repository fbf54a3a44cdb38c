#include "store/sql/audit_store.hpp"

#include "store/sql/sql_store.hpp"
#include "util/ids.hpp"

namespace ok::store::sql {
namespace {

constexpr std::string_view kKeyColumns = "kid, private_pem, public_raw, created_at, retired_at";

AuditSigningKey read_key(const Statement& s) {
  AuditSigningKey k{.kid = s.text(0), .private_pem = s.text(1), .public_raw = s.text(2), .created_at = s.integer(3)};
  if (!s.is_null(4)) k.retired_at = s.integer(4);
  return k;
}

void insert_key(Connection& c, const AuditSigningKey& key) {
  Query q(c,
          "INSERT INTO audit_signing_keys (kid, private_pem, public_raw, created_at, retired_at) "
          "VALUES (?, ?, ?, ?, NULL) ON CONFLICT (kid) DO NOTHING");
  q->bind(1, key.kid).bind(2, key.private_pem).bind(3, key.public_raw).bind(4, key.created_at).run();
}

std::optional<AuditSigningKey> newest_active(Connection& c) {
  Query q(c, std::string("SELECT ") + std::string(kKeyColumns) +
                 " FROM audit_signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1");
  if (q->step()) return read_key(*q);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> SqlAuditStore::setting(const OrgId& org, std::string_view kind) {
  auto c = db_.reader();
  Query q(*c, "SELECT body FROM audit_settings WHERE org_id = ? AND kind = ?");
  q->bind(1, org.str()).bind(2, kind);
  if (q->step()) return q->text(0);
  return std::nullopt;
}

void SqlAuditStore::put_setting(const OrgId& org, std::string_view kind, const std::string& json) {
  put_setting_if(org, kind, json, [](const auto&) { return true; });
}

bool SqlAuditStore::put_setting_if(const OrgId& org, std::string_view kind, const std::string& json,
                                   const std::function<bool(const std::optional<std::string>&)>& applies) {
  bool done = false;
  db_.write([&](Connection& c) {
    std::optional<std::string> current;
    {
      Query q(c, "SELECT body FROM audit_settings WHERE org_id = ? AND kind = ?");
      q->bind(1, org.str()).bind(2, kind);
      if (q->step()) current = q->text(0);
    }
    if (!applies(current)) return;
    Query q(c,
            "INSERT INTO audit_settings (org_id, kind, body, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (org_id, kind) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at");
    q->bind(1, org.str()).bind(2, kind).bind(3, json).bind(4, util::now_ms()).run();
    done = true;
  });
  return done;
}

std::vector<AuditSigningKey> SqlAuditStore::signing_keys() {
  auto c = db_.reader();
  Query q(*c,
          std::string("SELECT ") + std::string(kKeyColumns) + " FROM audit_signing_keys ORDER BY created_at DESC, kid");
  std::vector<AuditSigningKey> out;
  while (q->step()) out.push_back(read_key(*q));
  return out;
}

AuditSigningKey SqlAuditStore::active_signing_key(const std::function<AuditSigningKey()>& generate) {
  {
    auto c = db_.reader();
    if (auto key = newest_active(*c)) return *key;
  }
  auto made = generate();
  AuditSigningKey kept;
  db_.write([&](Connection& c) {
    // Another node may have stored one meanwhile: that one is kept by both.
    if (auto key = newest_active(c)) {
      kept = *key;
      return;
    }
    insert_key(c, made);
    kept = made;
  });
  return kept;
}

void SqlAuditStore::rotate_signing_key(const AuditSigningKey& next) {
  db_.write([&](Connection& c) {
    Query retire(c, "UPDATE audit_signing_keys SET retired_at = ? WHERE retired_at IS NULL");
    retire->bind(1, util::now_ms()).run();
    insert_key(c, next);
  });
}

}  // namespace ok::store::sql
