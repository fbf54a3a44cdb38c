#include "store/sql/audit_store.hpp"

#include "cluster/payload.hpp"  // gzip
#include "store/sql/sql_store.hpp"
#include "util/ids.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <stdexcept>

namespace ok::store::sql {
namespace {

constexpr std::size_t kLargestBlock = std::size_t{256} << 20;  // 500 records of the largest request

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

// Records are stored in blocks: one row per organization per ingest (at most kBlock records),
// numbered consecutively from `seq` to `last_seq`, each record a line "ts TAB entry", the lines
// gzipped (zlib's fastest level) and base64url'd (a TEXT column on both databases). At tens of
// thousands of requests a second, one row per record was the larger part of what auditing
// cost (docs/BENCHMARKS.md); one per block is a few hundred rows a second. Entries of one
// organization repeat themselves: compressed, a block is about a tenth of its text, which is
// what a week of retention occupies, and what the database writes twice (WAL, then table).
void SqlAuditStore::ingest_records(const std::vector<AuditRecord>& records, const std::string& journal,
                                   std::int64_t read_to) {
  constexpr std::size_t kBlock = 500;
  // Each organization's records in their order; organizations in order of first appearance.
  std::vector<std::pair<std::string, std::vector<const AuditRecord*>>> by_org;
  for (const auto& r : records) {
    auto it = std::find_if(by_org.begin(), by_org.end(), [&](const auto& g) { return g.first == r.org_id; });
    if (it == by_org.end()) it = by_org.insert(by_org.end(), {r.org_id, {}});
    it->second.push_back(&r);
  }
  db_.write([&](Connection& c) {
    // Batches are serialized across nodes, so numbering on from the highest stored keeps
    // `seq` in commit order.
    std::int64_t seq = 0;
    {
      Query last(c, "SELECT COALESCE(MAX(last_seq), 0) FROM audit_records");
      if (last->step()) seq = last->integer(0);
    }
    Query insert(c,
                 "INSERT INTO audit_records (seq, last_seq, org_id, first_ts, last_ts, entries) "
                 "VALUES (?, ?, ?, ?, ?, ?)");
    for (const auto& [org, group] : by_org) {
      for (std::size_t start = 0; start < group.size(); start += kBlock) {
        const auto end = std::min(group.size(), start + kBlock);
        std::string entries;
        std::int64_t first_ts = group[start]->ts_ms;
        std::int64_t last_ts = first_ts;
        for (std::size_t i = start; i < end; ++i) {
          if (i > start) entries += '\n';
          entries += std::to_string(group[i]->ts_ms);
          entries += '\t';
          entries += group[i]->entry;
          first_ts = std::min(first_ts, group[i]->ts_ms);
          last_ts = std::max(last_ts, group[i]->ts_ms);
        }
        const auto first = seq + 1;
        seq += static_cast<std::int64_t>(end - start);
        insert->bind(1, first)
            .bind(2, seq)
            .bind(3, org)
            .bind(4, first_ts)
            .bind(5, last_ts)
            .bind(6, util::base64url_encode(cluster::gzip(entries, 1)))
            .run();
        insert->reset();
      }
    }
    Query mark(c,
               "INSERT INTO audit_journals (journal, read_to) VALUES (?, ?) "
               "ON CONFLICT (journal) DO UPDATE SET read_to = excluded.read_to");
    mark->bind(1, journal).bind(2, read_to).run();
  });
}

std::int64_t SqlAuditStore::journal_read_to(const std::string& journal) {
  auto c = db_.reader();
  Query q(*c, "SELECT read_to FROM audit_journals WHERE journal = ?");
  q->bind(1, journal);
  return q->step() ? q->integer(0) : 0;
}

void SqlAuditStore::forget_journal(const std::string& journal) {
  db_.write([&](Connection& c) {
    Query q(c, "DELETE FROM audit_journals WHERE journal = ?");
    q->bind(1, journal).run();
  });
}

namespace {

// Unpacks the blocks a query returns (seq, org_id, entries) into records after `after_seq`
// written in [from_ms, to_ms], at most `limit`.
std::vector<AuditRecord> unpack(Query& q, std::int64_t after_seq, std::int64_t from_ms, std::int64_t to_ms,
                                std::size_t limit) {
  std::vector<AuditRecord> out;
  while (out.size() < limit && q->step()) {
    auto seq = q->integer(0);
    const auto org = q->text(1);
    std::string packed;
    if (!util::base64url_decode(q->text(2), packed)) throw std::runtime_error("an audit record block is damaged");
    const auto entries = cluster::gunzip(packed, kLargestBlock);
    std::size_t start = 0;
    for (; start <= entries.size() && out.size() < limit; ++seq) {
      auto end = entries.find('\n', start);
      if (end == std::string::npos) end = entries.size();
      const std::string_view line(entries.data() + start, end - start);
      start = end + 1;
      const auto tab = line.find('\t');
      if (seq <= after_seq || tab == std::string_view::npos) continue;
      std::int64_t ts = 0;
      std::from_chars(line.data(), line.data() + tab, ts);
      if (ts < from_ms || ts > to_ms) continue;
      out.push_back({.seq = seq, .org_id = org, .ts_ms = ts, .entry = std::string(line.substr(tab + 1))});
    }
  }
  return out;
}

}  // namespace

std::vector<AuditRecord> SqlAuditStore::records_after(const OrgId& org, std::int64_t after_seq, std::size_t limit) {
  auto c = db_.reader();
  Query q(*c,
          "SELECT seq, org_id, entries FROM audit_records WHERE org_id = ? AND last_seq > ? ORDER BY last_seq LIMIT ?");
  q->bind(1, org.str()).bind(2, after_seq).bind(3, static_cast<std::int64_t>(limit));
  return unpack(q, after_seq, std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max(),
                limit);
}

std::vector<AuditRecord> SqlAuditStore::records_between(const OrgId& org, std::int64_t from_ms, std::int64_t to_ms,
                                                        std::int64_t after_seq, std::size_t limit) {
  auto c = db_.reader();
  Query q(*c,
          "SELECT seq, org_id, entries FROM audit_records WHERE org_id = ? AND last_seq > ? AND last_ts >= ? "
          "AND first_ts <= ? ORDER BY last_seq LIMIT ?");
  q->bind(1, org.str()).bind(2, after_seq).bind(3, from_ms).bind(4, to_ms).bind(5, static_cast<std::int64_t>(limit));
  return unpack(q, after_seq, from_ms, to_ms, limit);
}

std::size_t SqlAuditStore::purge_expired_records(std::int64_t now_ms, std::int64_t unowned_days) {
  std::size_t purged = 0;
  db_.write([&](Connection& c) {
    Query q(c,
            "DELETE FROM audit_records WHERE seq < (SELECT MAX(seq) FROM audit_records) AND last_ts < ? - 86400000 * "
            "COALESCE((SELECT o.retention_period_days FROM organizations o WHERE o.id = audit_records.org_id), ?)");
    q->bind(1, now_ms).bind(2, unowned_days).run();
    purged = static_cast<std::size_t>(c.changes());
  });
  return purged;
}

std::vector<std::pair<OrgId, std::string>> SqlAuditStore::settings_of_kind(std::string_view kind) {
  auto c = db_.reader();
  Query q(*c, "SELECT org_id, body FROM audit_settings WHERE kind = ? ORDER BY org_id");
  q->bind(1, kind);
  std::vector<std::pair<OrgId, std::string>> out;
  while (q->step()) out.emplace_back(OrgId(q->text(0)), q->text(1));
  return out;
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
