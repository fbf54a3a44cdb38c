#include "store/audit_store.hpp"

#include "crypto/ed25519.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

namespace {

namespace fs = std::filesystem;
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
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openkonnect-unit-" + ok::util::new_uuid());
    fs::create_directories(dir_);
    store_ = ok::store::open_store("sqlite:" + (dir_ / "test.db").string());
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  ok::store::AuditStore& audit() { return store_->audit(); }

  static AuditSigningKey key(const std::string& kid, std::int64_t created_at) {
    return {.kid = kid, .private_pem = "pem-" + kid, .public_raw = "x-" + kid, .created_at = created_at};
  }

  fs::path dir_;
  std::unique_ptr<ok::store::Store> store_;
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

}  // namespace
