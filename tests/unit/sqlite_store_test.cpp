#include "api/identity/organizations.hpp"
#include "auth/permissions.hpp"
#include "auth/token.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ok::store::ControlPlane;
using ok::store::ControlPlaneQuery;
using ok::store::OrgId;
using ok::store::RoleAssignment;
using ok::store::Store;

constexpr std::int64_t kTtlSeconds = 3600;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openkonnect-unit-" + ok::util::new_uuid());
    fs::create_directories(dir_);
    url_ = "sqlite:" + (dir_ / "test.db").string();
    store_ = ok::store::open_store(url_);
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  OrgId new_org(const std::string& name = "Acme") {
    auto created = ok::api::identity::create_organization(*store_, name, "admin@acme.test", kTtlSeconds);
    return OrgId(created.organization_id);
  }

  static ControlPlane make_cp(const OrgId& org, std::string name, std::int64_t created_at = 1000) {
    ControlPlane cp;
    cp.id = ok::util::new_uuid();
    cp.org_id = org.str();
    cp.name = std::move(name);
    cp.created_at = cp.updated_at = created_at;
    return cp;
  }

  // Replaces the mutable fields of the stored control plane with those of `cp`.
  bool update(const ControlPlane& cp) {
    return store_
        ->modify_control_plane(ok::store::OrgId(cp.org_id), cp.id,
                               [&](ControlPlane& current) {
                                 current.name = cp.name;
                                 current.description = cp.description;
                                 current.auth_type = cp.auth_type;
                                 current.proxy_urls = cp.proxy_urls;
                                 current.labels = cp.labels;
                                 current.updated_at = cp.updated_at;
                               })
        .has_value();
  }

  void insert(const ControlPlane& cp, const std::vector<RoleAssignment>& grants = {}) {
    store_->insert_control_plane(cp, grants);
  }

  static RoleAssignment admin_grant(const OrgId& org, const std::string& user_id, const std::string& cp_id) {
    return {
        ok::util::new_uuid(), org.str(), "user", user_id, "Admin", std::string(ok::auth::kControlPlanes), cp_id, "*"};
  }

  static std::vector<std::string> names(const ok::store::Page<ControlPlane>& page) {
    std::vector<std::string> out;
    for (const auto& cp : page.items) out.push_back(cp.name);
    return out;
  }

  fs::path dir_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

// ---------------------------------------------------------------- opening and migrations

TEST_F(SqliteStoreTest, MigrationsApply) {
  EXPECT_GE(store_->schema_version(), 1);
  EXPECT_NO_THROW(store_->ping());
  EXPECT_TRUE(fs::exists(dir_ / "test.db"));
}

TEST_F(SqliteStoreTest, ReopenIsIdempotentAndKeepsData) {
  const int version = store_->schema_version();
  const auto org = new_org();
  auto cp = make_cp(org, "kept");
  insert(cp);
  store_.reset();

  store_ = ok::store::open_store(url_);
  EXPECT_EQ(store_->schema_version(), version);
  ASSERT_TRUE(store_->get_control_plane(org, cp.id).has_value());
  store_.reset();

  // A second store on the same file while one is open (as `org create` beside `serve`).
  store_ = ok::store::open_store(url_);
  auto second = ok::store::open_store(url_);
  EXPECT_EQ(second->schema_version(), version);
  EXPECT_TRUE(second->get_control_plane(org, cp.id).has_value());
}

TEST_F(SqliteStoreTest, OpenWithoutMigrationsReportsVersionZeroOnANewFile) {
  auto fresh = ok::store::open_store("sqlite:" + (dir_ / "fresh.db").string(), false);
  EXPECT_EQ(fresh->schema_version(), 0);
}

TEST_F(SqliteStoreTest, OpenCreatesParentDirectories) {
  auto nested = ok::store::open_store("sqlite:" + (dir_ / "a" / "b" / "nested.db").string());
  EXPECT_GE(nested->schema_version(), 1);
  EXPECT_TRUE(fs::exists(dir_ / "a" / "b" / "nested.db"));
}

TEST(SqliteStoreUrl, UnsupportedUrlsAreRejected) {
  EXPECT_THROW(ok::store::open_store("mysql://localhost/db"), std::invalid_argument);
  EXPECT_THROW(ok::store::open_store("sqlite:"), std::invalid_argument);
  EXPECT_THROW(ok::store::open_store("/tmp/x.db"), std::invalid_argument);
  // PostgreSQL is taken; one that cannot be reached is unavailable, not a bad URL.
  EXPECT_THROW(ok::store::open_store("postgres://127.0.0.1:1/db?connect_timeout=2"), ok::store::UnavailableError);
}

// ---------------------------------------------------------------- bootstrap and tokens

TEST_F(SqliteStoreTest, BootstrapThenFindTokenByHash) {
  const auto before = ok::util::now_ms();
  auto created = ok::api::identity::create_organization(*store_, "Acme", "admin@acme.test", kTtlSeconds);
  EXPECT_EQ(ok::auth::token_kind(created.token), ok::auth::TokenKind::personal);

  auto found = store_->find_token_by_hash(ok::auth::hash_token(created.token));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->owner_exists);
  EXPECT_EQ(found->token.org_id, created.organization_id);
  EXPECT_EQ(found->token.owner_id, created.user_id);
  EXPECT_EQ(found->token.owner_kind, ok::store::PrincipalKind::user);
  EXPECT_EQ(found->token.token_hash, ok::auth::hash_token(created.token));
  EXPECT_FALSE(found->token.revoked_at.has_value());
  EXPECT_FALSE(found->token.last_used_at.has_value());
  EXPECT_GE(found->token.expires_at, before + kTtlSeconds * 1000);
  EXPECT_LE(found->token.expires_at, ok::util::now_ms() + kTtlSeconds * 1000);

  // Only the hash is stored: neither the raw token nor some other hash finds it.
  EXPECT_FALSE(store_->find_token_by_hash(created.token).has_value());
  EXPECT_FALSE(store_->find_token_by_hash(ok::auth::hash_token(created.token + "x")).has_value());
}

TEST_F(SqliteStoreTest, BootstrapCreatesOrganizationUserAndAdminRole) {
  auto created = ok::api::identity::create_organization(*store_, "Acme Inc", "root@acme.test", kTtlSeconds);
  const OrgId org(created.organization_id);

  auto o = store_->get_organization(org);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->name, "Acme Inc");
  EXPECT_EQ(o->owner_id, created.user_id);

  auto user = store_->get_user(org, created.user_id);
  ASSERT_TRUE(user.has_value());
  EXPECT_EQ(user->email, "root@acme.test");
  EXPECT_TRUE(user->active);

  // The admin is an Organization Admin through the system team.
  auto roles = store_->effective_roles(org, "user", created.user_id);
  ASSERT_FALSE(roles.empty());
  EXPECT_TRUE(ok::auth::decide(roles, {ok::auth::kControlPlanes, ok::auth::Verb::create, {}}).allowed);
  EXPECT_TRUE(ok::auth::can_read_all(roles, ok::auth::kIdentity));
}

TEST_F(SqliteStoreTest, BootstrapRejectsBadInput) {
  EXPECT_THROW(ok::api::identity::create_organization(*store_, "", "a@b.test", kTtlSeconds), std::invalid_argument);
  EXPECT_THROW(ok::api::identity::create_organization(*store_, "Acme", "not-an-email", kTtlSeconds),
               std::invalid_argument);
  EXPECT_THROW(ok::api::identity::create_organization(*store_, "Acme", "@b.test", kTtlSeconds), std::invalid_argument);
  EXPECT_THROW(ok::api::identity::create_organization(*store_, "Acme", "a@", kTtlSeconds), std::invalid_argument);
}

TEST_F(SqliteStoreTest, OrganizationsAreIsolated) {
  auto a = ok::api::identity::create_organization(*store_, "A", "admin@a.test", kTtlSeconds);
  auto b = ok::api::identity::create_organization(*store_, "B", "admin@b.test", kTtlSeconds);
  EXPECT_NE(a.organization_id, b.organization_id);
  EXPECT_NE(a.token, b.token);
  EXPECT_FALSE(store_->get_user(OrgId(b.organization_id), a.user_id).has_value());
  EXPECT_TRUE(store_->effective_roles(OrgId(b.organization_id), "user", a.user_id).empty());
  EXPECT_FALSE(store_->get_organization(OrgId(ok::util::new_uuid())).has_value());
}

TEST_F(SqliteStoreTest, TouchTokenRecordsLastUse) {
  auto created = ok::api::identity::create_organization(*store_, "Acme", "admin@acme.test", kTtlSeconds);
  const auto hash = ok::auth::hash_token(created.token);
  auto found = store_->find_token_by_hash(hash);
  ASSERT_TRUE(found.has_value());
  store_->touch_token(found->token.id, 123456);
  // The touch is queued without waiting; writes commit in order, so once a later write has
  // returned the touch is visible.
  insert(make_cp(new_org("after-touch"), "later"));
  found = store_->find_token_by_hash(hash);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->token.last_used_at, std::optional<std::int64_t>(123456));
}

// ---------------------------------------------------------------- control planes: CRUD

TEST_F(SqliteStoreTest, ControlPlaneInsertAndGetRoundTrip) {
  const auto org = new_org();
  auto cp = make_cp(org, "prod", 1111);
  cp.description = "the production one";
  cp.cluster_type = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER";
  cp.auth_type = "pki_client_certs";
  cp.cloud_gateway = true;
  cp.proxy_urls = {{"a.example", 443, "https"}, {"b.example", 8080, "http"}};
  cp.labels = {{"env", "prod"}, {"team", "core"}};
  cp.updated_at = 2222;
  insert(cp);

  auto got = store_->get_control_plane(org, cp.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, cp.id);
  EXPECT_EQ(got->org_id, org.str());
  EXPECT_EQ(got->name, "prod");
  EXPECT_EQ(got->description, "the production one");
  EXPECT_EQ(got->cluster_type, "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER");
  EXPECT_EQ(got->auth_type, "pki_client_certs");
  EXPECT_TRUE(got->cloud_gateway);
  ASSERT_EQ(got->proxy_urls.size(), 2u);
  EXPECT_EQ(got->proxy_urls[0].host, "a.example");
  EXPECT_EQ(got->proxy_urls[0].port, 443);
  EXPECT_EQ(got->proxy_urls[0].protocol, "https");
  EXPECT_EQ(got->proxy_urls[1].host, "b.example");
  EXPECT_EQ(got->proxy_urls[1].port, 8080);
  EXPECT_EQ(got->labels, cp.labels);
  EXPECT_EQ(got->created_at, 1111);
  EXPECT_EQ(got->updated_at, 2222);

  EXPECT_FALSE(store_->get_control_plane(org, ok::util::new_uuid()).has_value());
}

TEST_F(SqliteStoreTest, ControlPlaneNameWithQuotesAndUnicode) {
  const auto org = new_org();
  auto cp = make_cp(org, "it's \"quoted\" \xC3\xA9t\xC3\xA9 \\ ; DROP TABLE control_planes; --");
  cp.labels = {{"k", "v"}};
  insert(cp);
  auto got = store_->get_control_plane(org, cp.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, cp.name);
}

TEST_F(SqliteStoreTest, ControlPlaneUpdate) {
  const auto org = new_org();
  auto cp = make_cp(org, "before");
  cp.labels = {{"env", "dev"}, {"gone", "soon"}};
  insert(cp);

  cp.name = "after";
  cp.description = "changed";
  cp.auth_type = "pki_client_certs";
  cp.proxy_urls = {{"p.example", 443, "https"}};
  cp.labels = {{"env", "prod"}};
  cp.updated_at = 5000;
  EXPECT_TRUE(update(cp));

  auto got = store_->get_control_plane(org, cp.id);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->name, "after");
  EXPECT_EQ(got->description, "changed");
  EXPECT_EQ(got->auth_type, "pki_client_certs");
  ASSERT_EQ(got->proxy_urls.size(), 1u);
  EXPECT_EQ(got->proxy_urls[0].host, "p.example");
  EXPECT_EQ(got->labels, (std::vector<std::pair<std::string, std::string>>{{"env", "prod"}}));
  EXPECT_EQ(got->updated_at, 5000);
  EXPECT_EQ(got->created_at, 1000);  // unchanged

  // The label index follows the update.
  ControlPlaneQuery q;
  q.labels = {{"env", "dev"}};
  EXPECT_EQ(store_->list_control_planes(org, q).total, 0);
  q.labels = {{"gone", std::nullopt}};
  EXPECT_EQ(store_->list_control_planes(org, q).total, 0);
  q.labels = {{"env", "prod"}};
  EXPECT_EQ(store_->list_control_planes(org, q).total, 1);
}

TEST_F(SqliteStoreTest, ControlPlaneUpdateOfMissingIdIsFalse) {
  const auto org = new_org();
  EXPECT_FALSE(update(make_cp(org, "ghost")));
  EXPECT_EQ(store_->list_control_planes(org, {}).total, 0);
}

TEST_F(SqliteStoreTest, ControlPlaneDelete) {
  const auto org = new_org();
  auto cp = make_cp(org, "doomed");
  cp.labels = {{"env", "x"}};
  insert(cp);
  EXPECT_TRUE(store_->delete_control_plane(org, cp.id));
  EXPECT_FALSE(store_->get_control_plane(org, cp.id).has_value());
  EXPECT_FALSE(store_->delete_control_plane(org, cp.id));
  ControlPlaneQuery q;
  q.labels = {{"env", std::nullopt}};
  EXPECT_EQ(store_->list_control_planes(org, q).total, 0);
  // The name is free again.
  EXPECT_NO_THROW(insert(make_cp(org, "doomed")));
}

TEST_F(SqliteStoreTest, ControlPlaneGrantsAreWrittenWithItAndRemovedWithIt) {
  auto created = ok::api::identity::create_organization(*store_, "Acme", "admin@acme.test", kTtlSeconds);
  const OrgId org(created.organization_id);
  auto cp = make_cp(org, "granted");
  insert(cp, {admin_grant(org, created.user_id, cp.id)});

  auto has_grant = [&] {
    for (const auto& r : store_->effective_roles(org, "user", created.user_id)) {
      if (r.entity_id == cp.id && r.role_name == "Admin" && r.entity_type_name == ok::auth::kControlPlanes) return true;
    }
    return false;
  };
  EXPECT_TRUE(has_grant());
  EXPECT_TRUE(store_->delete_control_plane(org, cp.id));
  EXPECT_FALSE(has_grant());
}

TEST_F(SqliteStoreTest, FailedControlPlaneInsertLeavesNoGrantBehind) {
  auto created = ok::api::identity::create_organization(*store_, "Acme", "admin@acme.test", kTtlSeconds);
  const OrgId org(created.organization_id);
  insert(make_cp(org, "taken"));
  const auto before = store_->effective_roles(org, "user", created.user_id).size();
  auto clash = make_cp(org, "taken");
  EXPECT_THROW(insert(clash, {admin_grant(org, created.user_id, clash.id)}), ok::store::ConflictError);
  EXPECT_EQ(store_->effective_roles(org, "user", created.user_id).size(), before);
}

// ---------------------------------------------------------------- uniqueness and tenancy

TEST_F(SqliteStoreTest, DuplicateNameInOneOrgConflicts) {
  const auto org = new_org();
  insert(make_cp(org, "prod"));
  try {
    insert(make_cp(org, "prod"));
    FAIL() << "duplicate name accepted";
  } catch (const ok::store::ConflictError& e) {
    EXPECT_NE(e.constraint().find("name"), std::string::npos) << e.constraint();
  }
  EXPECT_EQ(store_->list_control_planes(org, {}).total, 1);
  // Names are case-sensitive keys: another spelling is a different name.
  EXPECT_NO_THROW(insert(make_cp(org, "Prod")));
}

TEST_F(SqliteStoreTest, DuplicateIdConflicts) {
  const auto org = new_org();
  auto cp = make_cp(org, "one");
  insert(cp);
  cp.name = "two";
  EXPECT_THROW(insert(cp), ok::store::ConflictError);
}

TEST_F(SqliteStoreTest, RenameOntoExistingNameConflicts) {
  const auto org = new_org();
  auto a = make_cp(org, "a");
  insert(a);
  insert(make_cp(org, "b"));
  a.name = "b";
  EXPECT_THROW(update(a), ok::store::ConflictError);
  EXPECT_EQ(store_->get_control_plane(org, a.id)->name, "a");
}

TEST_F(SqliteStoreTest, SameNameInAnotherOrgSucceeds) {
  const auto org_a = new_org("A");
  const auto org_b = new_org("B");
  insert(make_cp(org_a, "prod"));
  EXPECT_NO_THROW(insert(make_cp(org_b, "prod")));
  EXPECT_EQ(store_->list_control_planes(org_a, {}).total, 1);
  EXPECT_EQ(store_->list_control_planes(org_b, {}).total, 1);
}

TEST_F(SqliteStoreTest, AnotherOrgCannotSeeOrChangeAControlPlane) {
  const auto org_a = new_org("A");
  const auto org_b = new_org("B");
  auto cp = make_cp(org_a, "secret");
  insert(cp);

  EXPECT_FALSE(store_->get_control_plane(org_b, cp.id).has_value());
  EXPECT_EQ(store_->list_control_planes(org_b, {}).total, 0);
  EXPECT_FALSE(store_->delete_control_plane(org_b, cp.id));

  auto hijack = cp;
  hijack.org_id = org_b.str();
  hijack.name = "hijacked";
  EXPECT_FALSE(update(hijack));

  auto still = store_->get_control_plane(org_a, cp.id);
  ASSERT_TRUE(still.has_value());
  EXPECT_EQ(still->name, "secret");
}

// ---------------------------------------------------------------- group commit

TEST_F(SqliteStoreTest, ConcurrentInsertsAllCommit) {
  const auto org = new_org();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        try {
          auto cp = make_cp(org, "cp-" + std::to_string(t) + "-" + std::to_string(i), t * 1000 + i);
          cp.labels = {{"thread", std::to_string(t)}};
          insert(cp);
        } catch (...) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store_->list_control_planes(org, {}).total, kThreads * kPerThread);
  ControlPlaneQuery q;
  q.labels = {{"thread", "3"}};
  EXPECT_EQ(store_->list_control_planes(org, q).total, kPerThread);

  // Durable: a fresh store on the same file sees every row.
  store_.reset();
  store_ = ok::store::open_store(url_);
  EXPECT_EQ(store_->list_control_planes(org, {}).total, kThreads * kPerThread);
}

TEST_F(SqliteStoreTest, OneFailingWriteDoesNotUndoItsBatch) {
  const auto org = new_org();
  constexpr int kThreads = 8;
  constexpr int kNames = 20;
  std::atomic<int> ok_count{0};
  std::atomic<int> conflicts{0};
  std::atomic<int> other{0};
  std::vector<std::thread> threads;
  // Every thread inserts the same 20 names: exactly one insert of each name may win.
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kNames; ++i) {
        try {
          insert(make_cp(org, "shared-" + std::to_string(i)));
          ++ok_count;
        } catch (const ok::store::ConflictError&) {
          ++conflicts;
        } catch (...) {
          ++other;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_EQ(ok_count.load(), kNames);
  EXPECT_EQ(conflicts.load(), (kThreads - 1) * kNames);
  EXPECT_EQ(store_->list_control_planes(org, {}).total, kNames);
}

TEST_F(SqliteStoreTest, ConcurrentReadsAndWrites) {
  const auto org = new_org();
  std::atomic<bool> stop{false};
  std::atomic<int> read_errors{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      std::int64_t last = 0;
      while (!stop) {
        try {
          const auto total = store_->list_control_planes(org, {}).total;
          if (total < last) ++read_errors;  // committed rows never disappear
          last = total;
        } catch (...) {
          ++read_errors;
        }
      }
    });
  }
  for (int i = 0; i < 100; ++i) insert(make_cp(org, fmt::format("w{}", i), i));
  stop = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(read_errors.load(), 0);
  EXPECT_EQ(store_->list_control_planes(org, {}).total, 100);
}

// ---------------------------------------------------------------- list filters

class ControlPlaneListTest : public SqliteStoreTest {
 protected:
  void SetUp() override {
    SqliteStoreTest::SetUp();
    org_ = std::make_unique<OrgId>(new_org("Main"));
    other_ = std::make_unique<OrgId>(new_org("Other"));

    alpha_ = make_cp(*org_, "alpha-prod", 1000);
    alpha_.labels = {{"env", "prod"}, {"team", "a"}};
    beta_ = make_cp(*org_, "beta-PROD", 2000);
    beta_.labels = {{"env", "prod"}};
    gamma_ = make_cp(*org_, "gamma-dev", 3000);
    gamma_.labels = {{"env", "dev"}};
    gamma_.cluster_type = "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER";
    delta_ = make_cp(*org_, "delta", 4000);
    delta_.cluster_type = "CLUSTER_TYPE_CONTROL_PLANE_GROUP";
    delta_.cloud_gateway = true;
    for (const auto* cp : {&gamma_, &alpha_, &delta_, &beta_}) insert(*cp);

    auto foreign = make_cp(*other_, "alpha-prod-elsewhere", 500);
    foreign.labels = {{"env", "prod"}};
    insert(foreign);
  }

  std::vector<std::string> list(const ControlPlaneQuery& q, std::int64_t* total = nullptr) {
    auto page = store_->list_control_planes(*org_, q);
    if (total) *total = page.total;
    return names(page);
  }

  using V = std::vector<std::string>;
  std::unique_ptr<OrgId> org_;
  std::unique_ptr<OrgId> other_;
  ControlPlane alpha_, beta_, gamma_, delta_;
};

TEST_F(ControlPlaneListTest, AllOldestFirstByDefault) {
  std::int64_t total = 0;
  EXPECT_EQ(list({}, &total), (V{"alpha-prod", "beta-PROD", "gamma-dev", "delta"}));
  EXPECT_EQ(total, 4);
}

TEST_F(ControlPlaneListTest, NewestFirst) {
  ControlPlaneQuery q;
  q.newest_first = true;
  EXPECT_EQ(list(q), (V{"delta", "gamma-dev", "beta-PROD", "alpha-prod"}));
}

TEST_F(ControlPlaneListTest, Paging) {
  ControlPlaneQuery q;
  q.page = {2, 1};
  std::int64_t total = 0;
  EXPECT_EQ(list(q, &total), (V{"alpha-prod", "beta-PROD"}));
  EXPECT_EQ(total, 4);
  q.page = {2, 2};
  EXPECT_EQ(list(q, &total), (V{"gamma-dev", "delta"}));
  EXPECT_EQ(total, 4);
  q.page = {2, 3};
  EXPECT_EQ(list(q, &total), V{});
  EXPECT_EQ(total, 4);
  q.page = {3, 2};
  q.newest_first = true;
  EXPECT_EQ(list(q), (V{"alpha-prod"}));
}

TEST_F(ControlPlaneListTest, PagingIsStableForEqualTimestamps) {
  // Ten rows created in the same millisecond still page without repeats or gaps.
  for (int i = 0; i < 10; ++i) insert(make_cp(*other_, "same-" + std::to_string(i), 9999));
  std::vector<std::string> seen;
  for (std::int64_t n = 1; n <= 4; ++n) {
    ControlPlaneQuery q;
    q.page = {3, n};
    for (const auto& cp : store_->list_control_planes(*other_, q).items) seen.push_back(cp.name);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(std::unique(seen.begin(), seen.end()), seen.end());
  EXPECT_EQ(seen.size(), 11u);  // ten plus the one made in SetUp
}

TEST_F(ControlPlaneListTest, NameContainsIsCaseInsensitive) {
  ControlPlaneQuery q;
  q.name_contains = {"prod"};
  std::int64_t total = 0;
  EXPECT_EQ(list(q, &total), (V{"alpha-prod", "beta-PROD"}));
  EXPECT_EQ(total, 2);
  q.name_contains = {"PrOd", "alpha"};
  EXPECT_EQ(list(q), (V{"alpha-prod"}));
}

TEST_F(ControlPlaneListTest, NameContainsTreatsWildcardsLiterally) {
  ControlPlaneQuery q;
  q.name_contains = {"%"};
  EXPECT_EQ(list(q), V{});
  q.name_contains = {"_"};
  EXPECT_EQ(list(q), V{});
  q.name_contains = {"ha-p"};
  EXPECT_EQ(list(q), (V{"alpha-prod"}));
}

TEST_F(ControlPlaneListTest, NameEqualsAndNotEquals) {
  ControlPlaneQuery q;
  q.name_eq = {"delta"};
  EXPECT_EQ(list(q), (V{"delta"}));
  q.name_eq = {"DELTA"};
  EXPECT_EQ(list(q), V{});
  q = {};
  q.name_neq = {"delta", "alpha-prod"};
  EXPECT_EQ(list(q), (V{"beta-PROD", "gamma-dev"}));
}

TEST_F(ControlPlaneListTest, IdIn) {
  ControlPlaneQuery q;
  q.id_in = {{gamma_.id, alpha_.id, ok::util::new_uuid()}};
  EXPECT_EQ(list(q), (V{"alpha-prod", "gamma-dev"}));
}

TEST_F(ControlPlaneListTest, Labels) {
  ControlPlaneQuery q;
  q.labels = {{"env", "prod"}};
  std::int64_t total = 0;
  EXPECT_EQ(list(q, &total), (V{"alpha-prod", "beta-PROD"}));
  EXPECT_EQ(total, 2);

  q.labels = {{"env", std::nullopt}};  // existence
  EXPECT_EQ(list(q), (V{"alpha-prod", "beta-PROD", "gamma-dev"}));

  q.labels = {{"env", "prod"}, {"team", std::nullopt}};  // AND
  EXPECT_EQ(list(q), (V{"alpha-prod"}));

  q.labels = {{"env", "staging"}};
  EXPECT_EQ(list(q), V{});

  q.labels = {{"nope", std::nullopt}};
  EXPECT_EQ(list(q), V{});
}

TEST_F(ControlPlaneListTest, ClusterType) {
  ControlPlaneQuery q;
  q.cluster_type_in = {{"CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"}};
  EXPECT_EQ(list(q), (V{"gamma-dev"}));
  q.cluster_type_in = {{"CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", "CLUSTER_TYPE_CONTROL_PLANE_GROUP"}};
  EXPECT_EQ(list(q), (V{"gamma-dev", "delta"}));
  q = {};
  q.cluster_type_neq = {"CLUSTER_TYPE_CONTROL_PLANE"};
  EXPECT_EQ(list(q), (V{"gamma-dev", "delta"}));
}

TEST_F(ControlPlaneListTest, CloudGateway) {
  ControlPlaneQuery q;
  q.cloud_gateway = true;
  EXPECT_EQ(list(q), (V{"delta"}));
  q.cloud_gateway = false;
  EXPECT_EQ(list(q), (V{"alpha-prod", "beta-PROD", "gamma-dev"}));
}

TEST_F(ControlPlaneListTest, VisibleIds) {
  ControlPlaneQuery q;
  q.visible_ids = std::vector<std::string>{beta_.id, delta_.id};
  std::int64_t total = 0;
  EXPECT_EQ(list(q, &total), (V{"beta-PROD", "delta"}));
  EXPECT_EQ(total, 2);
  q.visible_ids = std::vector<std::string>{};
  EXPECT_EQ(list(q, &total), V{});
  EXPECT_EQ(total, 0);
}

TEST_F(ControlPlaneListTest, FiltersCombineAndTotalCountsMatchesNotPage) {
  ControlPlaneQuery q;
  q.labels = {{"env", std::nullopt}};
  q.name_neq = {"gamma-dev"};
  q.page = {1, 2};
  std::int64_t total = 0;
  EXPECT_EQ(list(q, &total), (V{"beta-PROD"}));
  EXPECT_EQ(total, 2);
}

TEST_F(ControlPlaneListTest, OtherOrganizationSeesOnlyItsOwn) {
  auto page = store_->list_control_planes(*other_, {});
  EXPECT_EQ(names(page), (V{"alpha-prod-elsewhere"}));
  EXPECT_EQ(page.total, 1);
  ControlPlaneQuery q;
  q.id_in = {{alpha_.id}};
  EXPECT_EQ(store_->list_control_planes(*other_, q).total, 0);
  q = {};
  q.visible_ids = std::vector<std::string>{alpha_.id};
  EXPECT_EQ(store_->list_control_planes(*other_, q).total, 0);
}

}  // namespace

namespace {

TEST_F(SqliteStoreTest, ConcurrentModificationsDoNotLoseUpdates) {
  // Each thread adds its own labels through read-modify-write: with the read inside the
  // write transaction, no thread's label overwrites another's.
  const auto org = new_org();
  auto cp = make_cp(org, "shared");
  insert(cp);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        store_->modify_control_plane(
            org, cp.id, [&](ControlPlane& current) { current.labels.emplace_back(fmt::format("t{}-{}", t, i), "v"); });
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store_->get_control_plane(org, cp.id)->labels.size(), 40u);
}

TEST_F(SqliteStoreTest, AThrowingModificationWritesNothing) {
  const auto org = new_org();
  auto cp = make_cp(org, "unchanged");
  insert(cp);
  EXPECT_THROW(store_->modify_control_plane(org, cp.id,
                                            [](ControlPlane& current) {
                                              current.name = "changed";
                                              throw std::runtime_error("refused");
                                            }),
               std::runtime_error);
  EXPECT_EQ(store_->get_control_plane(org, cp.id)->name, "unchanged");
}

}  // namespace

namespace {

TEST_F(SqliteStoreTest, NameContainsUsesTheTrigramIndexFaithfully) {
  const auto org = new_org();
  auto a = make_cp(org, R"(Checkout "PROD" eu)");
  auto b = make_cp(org, "billing-dev");
  insert(a);
  insert(b);
  auto contains = [&](std::string term) {
    ControlPlaneQuery q;
    q.name_contains = {std::move(term)};
    return store_->list_control_planes(org, q).total;
  };
  EXPECT_EQ(contains("\"prod\""), 1);  // quotes are literal, case ignored
  EXPECT_EQ(contains("eu"), 1);        // shorter than a trigram: scanned
  EXPECT_EQ(contains("-"), 1);
  EXPECT_EQ(contains("ill"), 1);
  EXPECT_EQ(contains("nope"), 0);
  // A rename moves the name in the index; a delete removes it.
  store_->modify_control_plane(org, b.id, [](ControlPlane& cp) { cp.name = "payments"; });
  EXPECT_EQ(contains("billing"), 0);
  EXPECT_EQ(contains("paym"), 1);
  store_->delete_control_plane(org, a.id);
  EXPECT_EQ(contains("checkout"), 0);
}

TEST_F(SqliteStoreTest, UnfilteredTotalsComeFromTheKeptCount) {
  const auto org = new_org();
  for (int i = 0; i < 5; ++i) insert(make_cp(org, fmt::format("c{}", i)));
  auto page = store_->list_control_planes(org, ControlPlaneQuery{.page = {2, 1}});
  EXPECT_EQ(page.total, 5);
  EXPECT_EQ(page.items.size(), 2u);
  store_->delete_control_plane(org, page.items[0].id);
  EXPECT_EQ(store_->list_control_planes(org, {}).total, 4);
  EXPECT_EQ(store_->list_control_planes(new_org("other"), {}).total, 0);
}

}  // namespace

namespace {

TEST_F(SqliteStoreTest, RowsWrittenStraightIntoTheFileAreIndexedToo) {
  // An import that writes the table directly (as the benchmark's large population does)
  // still gets sequence numbers and name-index entries from the trigger.
  const auto org = new_org();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "test.db").c_str(), &db), SQLITE_OK);
    const std::string sql = fmt::format(
        "INSERT INTO control_planes (id, org_id, name, description, cluster_type, auth_type, cloud_gateway, "
        "proxy_urls, labels, created_at, updated_at) VALUES ('{}', '{}', 'imported-checkout-prod', '', "
        "'CLUSTER_TYPE_CONTROL_PLANE', 'pinned_client_certs', 0, '[]', '{{}}', 1, 1)",
        ok::util::new_uuid(), org.str());
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }
  insert(make_cp(org, "served-checkout-prod"));
  ControlPlaneQuery q;
  q.name_contains = {"checkout-prod"};
  EXPECT_EQ(store_->list_control_planes(org, q).total, 2);
}

}  // namespace

// Past 10 000 control planes in an organization, a substring filter is led by the trigram index
// instead of a scan of the organization's rows (store/sql/sql_store.cpp, kNameScanLimit):
// the answers must be the same either way.
TEST_F(SqliteStoreTest, NameContainsInALargeOrganizationIsLedByTheNameIndex) {
  const OrgId large = new_org("Large");
  const OrgId small = new_org("Small");
  // Rows straight into the file, in one transaction (through the store it would take a commit
  // each); the server's triggers still number them and index their names.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "test.db").string().c_str(), &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 10000);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_stmt* insert = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "INSERT INTO control_planes (id, org_id, name, cluster_type, auth_type, labels, "
                               "created_at, updated_at) VALUES (?, ?, ?, 'CLUSTER_TYPE_CONTROL_PLANE', "
                               "'pinned_client_certs', ?, ?, ?)",
                               -1, &insert, nullptr),
            SQLITE_OK);
  std::vector<std::string> expected;  // large's names containing "Checkout", oldest first
  auto add = [&](const OrgId& org, const std::string& name, std::int64_t at) {
    const auto id = ok::util::new_uuid();
    sqlite3_bind_text(insert, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 2, org.str().c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 3, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(insert, 4, "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(insert, 5, at);
    sqlite3_bind_int64(insert, 6, at);
    ASSERT_EQ(sqlite3_step(insert), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_reset(insert);
  };
  for (int i = 0; i < 10'500; ++i) {
    const bool match = i % 97 == 0;
    const auto name = fmt::format("{}-{:05}", match ? (i % 2 ? "CHECKOUT-prod" : "checkout-prod") : "billing-dev", i);
    add(large, name, 1000 + i);
    if (match) expected.push_back(name);
  }
  for (int i = 0; i < 50; ++i) add(small, fmt::format("checkout-prod-small-{}", i), 500 + i);
  sqlite3_finalize(insert);
  ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  ControlPlaneQuery q;
  q.name_contains = {"checkout-PROD"};
  q.page = {20, 1};
  auto page = store_->list_control_planes(large, q);
  EXPECT_EQ(page.total, static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(names(page), std::vector<std::string>(expected.begin(), expected.begin() + 20));
  q.newest_first = true;
  q.page = {20, 2};
  page = store_->list_control_planes(large, q);
  EXPECT_EQ(page.total, static_cast<std::int64_t>(expected.size()));
  EXPECT_EQ(names(page), std::vector<std::string>(expected.rbegin() + 20, expected.rbegin() + 40));
  q.page = {20, 100};  // past the end: no rows, the count still right
  page = store_->list_control_planes(large, q);
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.total, static_cast<std::int64_t>(expected.size()));
  // Combined with another filter, and with a reader who sees one of the matches only.
  q = {};
  q.name_contains = {"checkout", "-00097"};
  EXPECT_EQ(names(store_->list_control_planes(large, q)), std::vector<std::string>{"CHECKOUT-prod-00097"});
  q = {};
  q.name_contains = {"checkout"};
  q.visible_ids = std::vector<std::string>{};
  EXPECT_EQ(store_->list_control_planes(large, q).total, 0);
  // The small organization is scanned, and neither sees the other's rows.
  q = {};
  q.name_contains = {"checkout-prod"};
  EXPECT_EQ(store_->list_control_planes(small, q).total, 50);
}
