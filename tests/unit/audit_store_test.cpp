#include "store/audit_store.hpp"

#include "crypto/ed25519.hpp"
#include "temp_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace {

using ok::store::AuditSigningKey;
using ok::store::OrgId;

TEST(Ed25519, ASignatureVerifiesUnderItsKeyOnlyAndForItsMessageOnly) {
  const auto pair = ok::crypto::generate_ed25519();
  ASSERT_EQ(pair.public_raw.size(), 32u);
  EXPECT_NE(pair.private_pem.find("BEGIN PRIVATE KEY"), std::string::npos);
  const auto sig = ok::crypto::ed25519_sign(pair.private_pem, "an audit entry");
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(ok::crypto::ed25519_verify(pair.public_raw, "an audit entry", sig));
  EXPECT_FALSE(ok::crypto::ed25519_verify(pair.public_raw, "an audit entrY", sig));
  const auto other = ok::crypto::generate_ed25519();
  EXPECT_FALSE(ok::crypto::ed25519_verify(other.public_raw, "an audit entry", sig));
  EXPECT_FALSE(ok::crypto::ed25519_verify("short", "an audit entry", sig));
  EXPECT_THROW(ok::crypto::ed25519_sign("not a key", "x"), std::runtime_error);
}

class AuditStoreTest : public ::testing::Test {
 protected:
  ok::store::AuditStore& audit() { return store_->audit(); }

  static AuditSigningKey key(const std::string& kid, std::int64_t created_at) {
    return {.kid = kid, .private_pem = "pem-" + kid, .public_raw = "x-" + kid, .created_at = created_at};
  }

  ok::test_support::TempStore store_;
};

TEST_F(AuditStoreTest, SettingsArePerOrganizationAndKind) {
  const OrgId acme("11111111-1111-4111-8111-111111111111"), globex("22222222-2222-4222-8222-222222222222");
  EXPECT_EQ(audit().setting(acme, "webhook"), std::nullopt);
  audit().put_setting(acme, "webhook", R"({"endpoint":"a"})");
  audit().put_setting(acme, "replay_job", R"({"status":"accepted"})");
  audit().put_setting(acme, "webhook", R"({"endpoint":"b"})");
  EXPECT_EQ(audit().setting(acme, "webhook"), R"({"endpoint":"b"})");
  EXPECT_EQ(audit().setting(acme, "replay_job"), R"({"status":"accepted"})");
  EXPECT_EQ(audit().setting(globex, "webhook"), std::nullopt);
}

TEST_F(AuditStoreTest, AConditionalPutSeesWhatIsStoredAndWritesOnlyWhenItHolds) {
  const OrgId acme("11111111-1111-4111-8111-111111111111");
  std::optional<std::string> seen = "unset";
  EXPECT_TRUE(audit().put_setting_if(acme, "replay_job", "first", [&](const auto& current) {
    seen = current;
    return true;
  }));
  EXPECT_EQ(seen, std::nullopt);
  EXPECT_FALSE(audit().put_setting_if(acme, "replay_job", "second", [&](const auto& current) {
    seen = current;
    return false;
  }));
  EXPECT_EQ(seen, "first");
  EXPECT_EQ(audit().setting(acme, "replay_job"), "first");
}

TEST_F(AuditStoreTest, TheActiveKeyIsMadeOnceAndRotationKeepsTheOldOnesListed) {
  int made = 0;
  const auto generate = [&] {
    ++made;
    return key("k1", 1000);
  };
  EXPECT_EQ(audit().active_signing_key(generate).kid, "k1");
  EXPECT_EQ(audit().active_signing_key(generate).kid, "k1");
  EXPECT_EQ(made, 1);
  audit().rotate_signing_key(key("k2", 2000));
  EXPECT_EQ(audit().active_signing_key(generate).kid, "k2");
  EXPECT_EQ(made, 1);
  const auto keys = audit().signing_keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, "k2");
  EXPECT_FALSE(keys[0].retired_at.has_value());
  EXPECT_EQ(keys[1].kid, "k1");
  EXPECT_TRUE(keys[1].retired_at.has_value());
  EXPECT_EQ(keys[1].private_pem, "pem-k1");
  EXPECT_EQ(keys[1].public_raw, "x-k1");
}

std::vector<ok::store::AuditRecord> numbered(const std::string& org, std::int64_t from_ts, int n) {
  std::vector<ok::store::AuditRecord> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({.org_id = org, .ts_ms = from_ts + i, .entry = "[\"" + org.substr(0, 1) + std::to_string(i) + "\"]"});
  }
  return out;
}

TEST_F(AuditStoreTest, RecordsAreNumberedInTheOrderStoredAndReadBackPerOrganization) {
  const std::string acme = "11111111-1111-4111-8111-111111111111", globex = "22222222-2222-4222-8222-222222222222";
  // More than one block of one organization, interleaved with another's.
  auto batch = numbered(acme, 1000, 1200);
  for (auto& r : numbered(globex, 5000, 3)) batch.push_back(r);
  audit().ingest_records(batch, "j1", 4096);
  EXPECT_EQ(audit().journal_read_to("j1"), 4096);
  EXPECT_EQ(audit().journal_read_to("j2"), 0);
  audit().ingest_records(numbered(acme, 9000, 2), "j1", 8192);
  EXPECT_EQ(audit().journal_read_to("j1"), 8192);

  const auto all = audit().records_after(OrgId(acme), 0, 10'000);
  ASSERT_EQ(all.size(), 1202u);
  for (std::size_t i = 1; i < all.size(); ++i) EXPECT_LT(all[i - 1].seq, all[i].seq);
  EXPECT_EQ(all[0].entry, "[\"10\"]");
  EXPECT_EQ(all[0].ts_ms, 1000);
  EXPECT_EQ(all[1199].entry, "[\"11199\"]");
  EXPECT_EQ(all[1200].ts_ms, 9000);
  EXPECT_EQ(all[1200].org_id, acme);

  // A cursor in the middle of a block, and a limit.
  const auto next = audit().records_after(OrgId(acme), all[700].seq, 10);
  ASSERT_EQ(next.size(), 10u);
  EXPECT_EQ(next[0].seq, all[701].seq);
  EXPECT_EQ(next[9].entry, all[710].entry);
  EXPECT_TRUE(audit().records_after(OrgId(acme), all.back().seq, 10).empty());

  const auto theirs = audit().records_after(OrgId(globex), 0, 10);
  ASSERT_EQ(theirs.size(), 3u);
  EXPECT_EQ(theirs[2].ts_ms, 5002);

  // A window of time, resumed after a record.
  const auto window = audit().records_between(OrgId(acme), 1100, 1199, 0, 1000);
  ASSERT_EQ(window.size(), 100u);
  EXPECT_EQ(window.front().ts_ms, 1100);
  EXPECT_EQ(window.back().ts_ms, 1199);
  const auto rest = audit().records_between(OrgId(acme), 1100, 1199, window[49].seq, 1000);
  ASSERT_EQ(rest.size(), 50u);
  EXPECT_EQ(rest.front().ts_ms, 1150);

  audit().forget_journal("j1");
  EXPECT_EQ(audit().journal_read_to("j1"), 0);
}

TEST_F(AuditStoreTest, PurgeDropsWholeBlocksPastRetentionAndKeepsTheNewest) {
  const std::string unowned;
  const std::int64_t day = 86'400'000, now = 100 * day;
  audit().ingest_records(numbered(unowned, now - 10 * day, 5), "j", 1);
  audit().ingest_records(numbered(unowned, now - 2 * day, 5), "j", 2);
  audit().ingest_records(numbered(unowned, now - 9 * day, 5), "j", 3);  // the newest block: kept
  EXPECT_EQ(audit().purge_expired_records(now, 7), 1u);
  const auto left = audit().records_after(OrgId(unowned), 0, 100);
  ASSERT_EQ(left.size(), 10u);
  EXPECT_EQ(left.front().ts_ms, now - 2 * day);
  EXPECT_EQ(left.back().seq, 15);  // numbering goes on from the purged ones
  EXPECT_EQ(audit().purge_expired_records(now, 1), 1u);
  EXPECT_EQ(audit().records_after(OrgId(unowned), 0, 100).size(), 5u);
}

}  // namespace
