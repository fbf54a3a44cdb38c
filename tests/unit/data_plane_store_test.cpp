#include "store/data_plane_store.hpp"

#include "api/identity/organizations.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ok::store::ControlPlane;
using ok::store::DataPlaneNode;
using ok::store::DataPlaneStore;
using ok::store::DpCertificate;
using ok::store::OrgId;
using ok::store::Scope;

constexpr std::int64_t kTtlSeconds = 3600;

class DataPlaneStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openkonnect-unit-" + ok::util::new_uuid());
    fs::create_directories(dir_);
    store_ = ok::store::open_store("sqlite:" + (dir_ / "test.db").string());
    acme_ = new_org("Acme");
    globex_ = new_org("Globex");
    cp_ = new_control_plane(acme_, "acme-default");
    other_cp_ = new_control_plane(acme_, "acme-second");
    foreign_cp_ = new_control_plane(globex_, "globex-default");
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  OrgId new_org(const std::string& name) {
    const auto created = ok::api::identity::create_organization(*store_, name, "admin@" + name + ".test", kTtlSeconds);
    return OrgId(created.organization_id);
  }

  ControlPlane new_control_plane(const OrgId& org, const std::string& name) {
    ControlPlane cp;
    cp.id = ok::util::new_uuid();
    cp.org_id = org.str();
    cp.name = name;
    cp.created_at = cp.updated_at = 1000;
    store_->insert_control_plane(cp, {});
    return cp;
  }

  DataPlaneStore& dp() { return store_->data_planes(); }

  static DpCertificate certificate(std::string id, std::string fingerprint, std::string subject,
                                   std::int64_t created_at = 100) {
    DpCertificate c;
    c.id = std::move(id);
    c.cert = "-----BEGIN CERTIFICATE-----\n" + c.id + "\n-----END CERTIFICATE-----\n";
    c.title = "title of " + c.id;
    c.fingerprint = std::move(fingerprint);
    c.subject = std::move(subject);
    c.created_at = c.updated_at = created_at;
    return c;
  }

  static DataPlaneNode node(std::string id, std::int64_t last_ping, std::int64_t created_at = 100) {
    DataPlaneNode n;
    n.id = std::move(id);
    n.version = "3.10.0";
    n.hostname = "host-" + n.id;
    n.ip = "10.0.0.1";
    n.config_hash = std::string(32, 'a');
    n.sync_status = "normal";
    n.labels = R"({"region":"eu"})";
    n.last_ping = last_ping;
    n.created_at = created_at;
    n.updated_at = last_ping;
    return n;
  }

  // record_node returns before the write: waits (bounded) until `done` holds.
  template <typename Predicate>
  bool eventually(Predicate done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return done();
  }

  // Records and waits until the node is visible with this last_ping.
  void record_and_wait(const ControlPlane& cp, const DataPlaneNode& n) {
    const auto scope = Scope::of(cp);
    dp().record_node(scope, n);
    ASSERT_TRUE(eventually([&] {
      const auto got = dp().node(scope, n.id);
      return got && got->last_ping == n.last_ping && got->hostname == n.hostname;
    })) << "node "
        << n.id << " never became visible";
  }

  static std::vector<std::string> ids(const std::vector<DpCertificate>& certs) {
    std::vector<std::string> out;
    for (const auto& c : certs) out.push_back(c.id);
    return out;
  }

  fs::path dir_;
  std::unique_ptr<ok::store::Store> store_;
  OrgId acme_{""};
  OrgId globex_{""};
  ControlPlane cp_, other_cp_, foreign_cp_;
};

// ---------------------------------------------------------------- certificates

TEST_F(DataPlaneStoreTest, CertificateRoundTrip) {
  const auto scope = Scope::of(cp_);
  auto c = certificate("c1", "fp1", "subj1");
  c.created_at = 111;
  c.updated_at = 222;
  dp().put_certificate(scope, c);
  const auto got = dp().certificate(scope, "c1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->id, "c1");
  EXPECT_EQ(got->org_id, acme_.str());
  EXPECT_EQ(got->control_plane_id, cp_.id);
  EXPECT_EQ(got->cert, c.cert);
  EXPECT_EQ(got->title, c.title);
  EXPECT_EQ(got->fingerprint, "fp1");
  EXPECT_EQ(got->subject, "subj1");
  EXPECT_EQ(got->created_at, 111);
  EXPECT_EQ(got->updated_at, 222);

  auto untitled = certificate("c2", "fp2", "subj2");
  untitled.title.reset();
  dp().put_certificate(scope, untitled);
  const auto got2 = dp().certificate(scope, "c2");
  ASSERT_TRUE(got2);
  EXPECT_FALSE(got2->title.has_value());
  EXPECT_FALSE(dp().certificate(scope, "missing").has_value());
}

TEST_F(DataPlaneStoreTest, CertificatesAreScopedToTheirControlPlane) {
  const auto mine = Scope::of(cp_);
  dp().put_certificate(mine, certificate("c1", "fp1", "subj"));
  dp().put_certificate(mine, certificate("c2", "fp2", "subj"));

  EXPECT_EQ(ids(dp().certificates(mine)), (std::vector<std::string>{"c1", "c2"}));
  for (const auto& cp : {other_cp_, foreign_cp_}) {
    const auto theirs = Scope::of(cp);
    EXPECT_TRUE(dp().certificates(theirs).empty()) << cp.name;
    EXPECT_FALSE(dp().certificate(theirs, "c1").has_value()) << cp.name;
    EXPECT_FALSE(dp().remove_certificate(theirs, "c1")) << cp.name;
  }
  // The same control plane id under another organization is not the same scope.
  auto spoofed = foreign_cp_;
  spoofed.id = cp_.id;
  EXPECT_TRUE(dp().certificates(Scope::of(spoofed)).empty());
  EXPECT_FALSE(dp().certificate(Scope::of(spoofed), "c1").has_value());
  EXPECT_FALSE(dp().remove_certificate(Scope::of(spoofed), "c1"));

  // Nothing was removed by those attempts.
  EXPECT_EQ(dp().certificates(mine).size(), 2u);
  EXPECT_TRUE(dp().remove_certificate(mine, "c1"));
  EXPECT_FALSE(dp().remove_certificate(mine, "c1"));
  EXPECT_EQ(ids(dp().certificates(mine)), (std::vector<std::string>{"c2"}));
}

TEST_F(DataPlaneStoreTest, CertificatesListInCreationOrder) {
  const auto scope = Scope::of(cp_);
  dp().put_certificate(scope, certificate("b", "fp-b", "s", 300));
  dp().put_certificate(scope, certificate("c", "fp-c", "s", 100));
  dp().put_certificate(scope, certificate("a", "fp-a", "s", 200));
  dp().put_certificate(scope, certificate("d", "fp-d", "s", 100));
  EXPECT_EQ(ids(dp().certificates(scope)), (std::vector<std::string>{"c", "d", "a", "b"}));
}

TEST_F(DataPlaneStoreTest, PutReplacesById) {
  const auto scope = Scope::of(cp_);
  dp().put_certificate(scope, certificate("c1", "fp-old", "subj-old", 100));
  auto replacement = certificate("c1", "fp-new", "subj-new", 100);
  replacement.cert = "new pem";
  replacement.title = "new title";
  replacement.updated_at = 500;
  dp().put_certificate(scope, replacement);

  const auto all = dp().certificates(scope);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].cert, "new pem");
  EXPECT_EQ(all[0].title, "new title");
  EXPECT_EQ(all[0].fingerprint, "fp-new");
  EXPECT_EQ(all[0].subject, "subj-new");
  EXPECT_EQ(all[0].updated_at, 500);
  // The old fingerprint no longer matches anything.
  EXPECT_TRUE(dp().certificates_matching("fp-old", "no-such-subject").empty());
  EXPECT_EQ(ids(dp().certificates_matching("fp-new", "no-such-subject")), (std::vector<std::string>{"c1"}));
}

TEST_F(DataPlaneStoreTest, PutWithAnotherScopeDoesNotTakeOverACertificate) {
  dp().put_certificate(Scope::of(cp_), certificate("c1", "fp1", "subj1"));
  auto hijack = certificate("c1", "fp-evil", "subj-evil");
  try {
    dp().put_certificate(Scope::of(foreign_cp_), hijack);
  } catch (const std::exception&) {
    // Refusing loudly is fine too; what matters is what is stored.
  }
  const auto mine = dp().certificate(Scope::of(cp_), "c1");
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->fingerprint, "fp1");
  EXPECT_EQ(mine->subject, "subj1");
  EXPECT_FALSE(dp().certificate(Scope::of(foreign_cp_), "c1").has_value());
  EXPECT_TRUE(dp().certificates_matching("fp-evil", "subj-evil").empty());
}

TEST_F(DataPlaneStoreTest, CertificatesMatchingLooksAcrossOrganizations) {
  dp().put_certificate(Scope::of(cp_), certificate("acme-pin", "leaf-fp", "leaf-subject"));
  dp().put_certificate(Scope::of(foreign_cp_), certificate("globex-pin", "leaf-fp", "leaf-subject"));
  dp().put_certificate(Scope::of(other_cp_), certificate("acme-ca", "ca-fp", "ca-subject"));
  dp().put_certificate(Scope::of(foreign_cp_), certificate("globex-ca", "ca2-fp", "ca-subject"));
  dp().put_certificate(Scope::of(cp_), certificate("unrelated", "x-fp", "x-subject"));

  // By fingerprint (a pinned leaf), in both organizations.
  auto by_fingerprint = dp().certificates_matching("leaf-fp", "nobody");
  EXPECT_EQ(ids(by_fingerprint), (std::vector<std::string>{"acme-pin", "globex-pin"}));
  std::set<std::string> orgs;
  for (const auto& c : by_fingerprint) orgs.insert(c.org_id);
  EXPECT_EQ(orgs, (std::set<std::string>{acme_.str(), globex_.str()}));

  // By subject (the CAs that may have signed a certificate with this issuer).
  EXPECT_EQ(ids(dp().certificates_matching("nothing", "ca-subject")),
            (std::vector<std::string>{"acme-ca", "globex-ca"}));
  // Both at once.
  EXPECT_EQ(ids(dp().certificates_matching("leaf-fp", "ca-subject")),
            (std::vector<std::string>{"acme-ca", "acme-pin", "globex-ca", "globex-pin"}));
  EXPECT_TRUE(dp().certificates_matching("nothing", "nobody").empty());
  // Each carries its scope, for the listener to find the control plane.
  for (const auto& c : dp().certificates_matching("ca2-fp", "nobody")) {
    EXPECT_EQ(c.org_id, globex_.str());
    EXPECT_EQ(c.control_plane_id, foreign_cp_.id);
  }
}

// ---------------------------------------------------------------- nodes

TEST_F(DataPlaneStoreTest, RecordNodeIsAsynchronousButLands) {
  const auto scope = Scope::of(cp_);
  auto n = node("node-1", 5000, 4000);
  n.cert_expiry = 99999;
  n.compatibility = R"({"state":"COMPATIBILITY_STATE_FULLY_COMPATIBLE","issues":[]})";
  n.last_error = R"({"name":"x"})";
  dp().record_node(scope, n);  // returns at once
  ASSERT_TRUE(eventually([&] { return dp().node(scope, "node-1").has_value(); }));
  const auto got = dp().node(scope, "node-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->org_id, acme_.str());
  EXPECT_EQ(got->control_plane_id, cp_.id);
  EXPECT_EQ(got->version, "3.10.0");
  EXPECT_EQ(got->hostname, "host-node-1");
  EXPECT_EQ(got->ip, "10.0.0.1");
  EXPECT_EQ(got->type, "kong-proxy");
  EXPECT_EQ(got->config_hash, std::string(32, 'a'));
  EXPECT_EQ(got->sync_status, "normal");
  EXPECT_EQ(got->labels, R"({"region":"eu"})");
  EXPECT_EQ(got->compatibility, n.compatibility);
  EXPECT_EQ(got->last_error, n.last_error);
  EXPECT_EQ(got->cert_expiry, 99999);
  EXPECT_EQ(got->last_ping, 5000);
  EXPECT_EQ(got->created_at, 4000);
  EXPECT_EQ(got->updated_at, 5000);
}

TEST_F(DataPlaneStoreTest, RecordNodeTakesItsScopeFromTheScope) {
  auto n = node("node-1", 5000);
  n.org_id = globex_.str();  // whatever the caller left there is overwritten
  n.control_plane_id = foreign_cp_.id;
  record_and_wait(cp_, n);
  EXPECT_FALSE(dp().node(Scope::of(foreign_cp_), "node-1").has_value());
  EXPECT_EQ(dp().node(Scope::of(cp_), "node-1")->org_id, acme_.str());
}

TEST_F(DataPlaneStoreTest, RecordNodeUpsertsKeepingCreatedAt) {
  const auto scope = Scope::of(cp_);
  record_and_wait(cp_, node("node-1", 5000, 4000));
  auto update = node("node-1", 6000, 5999);  // a later sighting claims another created_at
  update.version = "3.9.1";
  update.hostname = "renamed";
  update.sync_status = "kong_version_incompatible";
  update.config_hash = std::string(32, 'b');
  update.cert_expiry = 12345;
  record_and_wait(cp_, update);

  const auto got = dp().node(scope, "node-1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->created_at, 4000);  // the first sighting's
  EXPECT_EQ(got->last_ping, 6000);
  EXPECT_EQ(got->updated_at, 6000);
  EXPECT_EQ(got->version, "3.9.1");
  EXPECT_EQ(got->hostname, "renamed");
  EXPECT_EQ(got->sync_status, "kong_version_incompatible");
  EXPECT_EQ(got->config_hash, std::string(32, 'b'));
  EXPECT_EQ(got->cert_expiry, 12345);
  EXPECT_EQ(dp().nodes(scope, 100, "").total, 1);

  // cert_expiry can go back to unknown.
  auto cleared = node("node-1", 7000);
  record_and_wait(cp_, cleared);
  EXPECT_FALSE(dp().node(scope, "node-1")->cert_expiry.has_value());
}

TEST_F(DataPlaneStoreTest, ManyRecordsInARowAllLand) {
  const auto scope = Scope::of(cp_);
  for (int i = 0; i < 50; ++i) dp().record_node(scope, node(fmt::format("n{:02}", i), 1000 + i));
  ASSERT_TRUE(eventually([&] { return dp().nodes(scope, 100, "").total == 50; }));
  // The last write for one id wins.
  for (int i = 0; i < 20; ++i) dp().record_node(scope, node("n00", 2000 + i));
  ASSERT_TRUE(eventually([&] { return dp().node(scope, "n00")->last_ping == 2019; }));
  EXPECT_EQ(dp().nodes(scope, 100, "").total, 50);
}

TEST_F(DataPlaneStoreTest, NodesPageById) {
  const auto scope = Scope::of(cp_);
  const std::vector<std::string> all = {"a", "b", "c", "d", "e"};
  // Recorded out of order; listed by id.
  for (const auto& id : {"d", "a", "e", "c", "b"}) dp().record_node(scope, node(id, 1000));
  dp().record_node(Scope::of(other_cp_), node("zz-other", 1000));
  dp().record_node(Scope::of(foreign_cp_), node("aa-foreign", 1000));
  ASSERT_TRUE(eventually([&] {
    return dp().nodes(scope, 100, "").total == 5 && dp().node(Scope::of(foreign_cp_), "aa-foreign").has_value() &&
           dp().node(Scope::of(other_cp_), "zz-other").has_value();
  }));

  std::vector<std::string> seen;
  std::string after;
  int pages = 0;
  while (true) {
    const auto page = dp().nodes(scope, 2, after);
    EXPECT_EQ(page.total, 5);
    ++pages;
    for (const auto& n : page.items) {
      EXPECT_EQ(n.control_plane_id, cp_.id);
      seen.push_back(n.id);
    }
    if (!page.more) {
      EXPECT_LE(page.items.size(), 2u);
      break;
    }
    EXPECT_EQ(page.items.size(), 2u);
    after = page.items.back().id;
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(seen, all);
  EXPECT_EQ(pages, 3);

  // Exactly full: no `more`.
  const auto full = dp().nodes(scope, 5, "");
  EXPECT_EQ(full.items.size(), 5u);
  EXPECT_FALSE(full.more);
  const auto short_of_one = dp().nodes(scope, 4, "");
  EXPECT_EQ(short_of_one.items.size(), 4u);
  EXPECT_TRUE(short_of_one.more);
  // After the last: empty, total still counts everything.
  const auto past = dp().nodes(scope, 2, "e");
  EXPECT_TRUE(past.items.empty());
  EXPECT_FALSE(past.more);
  EXPECT_EQ(past.total, 5);
  // Another control plane sees only its own.
  const auto other = dp().nodes(Scope::of(other_cp_), 10, "");
  EXPECT_EQ(other.total, 1);
  ASSERT_EQ(other.items.size(), 1u);
  EXPECT_EQ(other.items[0].id, "zz-other");
}

TEST_F(DataPlaneStoreTest, RemoveNodeIsScoped) {
  record_and_wait(cp_, node("node-1", 1000));
  record_and_wait(foreign_cp_, node("node-1", 1000));  // same node id, another org's control plane
  EXPECT_FALSE(dp().remove_node(Scope::of(other_cp_), "node-1"));
  auto spoofed = foreign_cp_;
  spoofed.id = cp_.id;
  EXPECT_FALSE(dp().remove_node(Scope::of(spoofed), "node-1"));
  EXPECT_TRUE(dp().node(Scope::of(cp_), "node-1").has_value());

  EXPECT_TRUE(dp().remove_node(Scope::of(cp_), "node-1"));
  EXPECT_FALSE(dp().remove_node(Scope::of(cp_), "node-1"));
  EXPECT_FALSE(dp().node(Scope::of(cp_), "node-1").has_value());
  EXPECT_TRUE(dp().node(Scope::of(foreign_cp_), "node-1").has_value());
}

TEST_F(DataPlaneStoreTest, PurgeRemovesOnlyTheOldInEveryOrganization) {
  record_and_wait(cp_, node("old-acme", 1000));
  record_and_wait(cp_, node("edge-acme", 2000));
  record_and_wait(cp_, node("new-acme", 3000));
  record_and_wait(foreign_cp_, node("old-globex", 1500));
  record_and_wait(foreign_cp_, node("new-globex", 2500));

  EXPECT_EQ(dp().purge_nodes(2000), 2u);  // last seen strictly before
  EXPECT_FALSE(dp().node(Scope::of(cp_), "old-acme").has_value());
  EXPECT_FALSE(dp().node(Scope::of(foreign_cp_), "old-globex").has_value());
  EXPECT_TRUE(dp().node(Scope::of(cp_), "edge-acme").has_value());
  EXPECT_TRUE(dp().node(Scope::of(cp_), "new-acme").has_value());
  EXPECT_TRUE(dp().node(Scope::of(foreign_cp_), "new-globex").has_value());
  EXPECT_EQ(dp().purge_nodes(2000), 0u);
  EXPECT_EQ(dp().purge_nodes(0), 0u);
}

// ---------------------------------------------------------------- cluster identity

TEST_F(DataPlaneStoreTest, ClusterIdentityIsGeneratedOnce) {
  int calls = 0;
  auto generate = [&] {
    ++calls;
    return std::pair<std::string, std::string>("cert-" + std::to_string(calls), "key-" + std::to_string(calls));
  };
  const auto first = dp().cluster_identity(generate);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(first, (std::pair<std::string, std::string>("cert-1", "key-1")));
  const auto second = dp().cluster_identity(generate);
  EXPECT_EQ(calls, 1);  // not generated again
  EXPECT_EQ(second, first);

  // Another handle on the same database (another node, or the next start) gets the same pair.
  auto again = ok::store::open_store("sqlite:" + (dir_ / "test.db").string());
  const auto third = again->data_planes().cluster_identity(generate);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(third, first);
}

TEST_F(DataPlaneStoreTest, ClusterIdentityFirstStoredWins) {
  // Two nodes starting together: each generates, the first stored is what both present.
  auto other = ok::store::open_store("sqlite:" + (dir_ / "test.db").string());
  std::pair<std::string, std::string> inner;
  const auto outer = dp().cluster_identity([&] {
    // While this node generates, the other one stores its own pair.
    inner = other->data_planes().cluster_identity([] { return std::pair<std::string, std::string>("B", "kb"); });
    return std::pair<std::string, std::string>("A", "ka");
  });
  EXPECT_EQ(inner, (std::pair<std::string, std::string>("B", "kb")));
  EXPECT_EQ(outer, inner);
  EXPECT_EQ(dp().cluster_identity([] { return std::pair<std::string, std::string>("C", "kc"); }), inner);
}

// ---------------------------------------------------------------- deleting a control plane

TEST_F(DataPlaneStoreTest, DeletingAControlPlaneRemovesItsCertificatesAndNodes) {
  dp().put_certificate(Scope::of(cp_), certificate("c1", "fp1", "subj1"));
  dp().put_certificate(Scope::of(other_cp_), certificate("c2", "fp2", "subj2"));
  record_and_wait(cp_, node("node-1", 1000));
  record_and_wait(other_cp_, node("node-2", 1000));

  ASSERT_TRUE(store_->delete_control_plane(acme_, cp_.id));

  EXPECT_TRUE(dp().certificates(Scope::of(cp_)).empty());
  EXPECT_FALSE(dp().node(Scope::of(cp_), "node-1").has_value());
  EXPECT_EQ(dp().nodes(Scope::of(cp_), 10, "").total, 0);
  EXPECT_TRUE(dp().certificates_matching("fp1", "subj1").empty());
  // The other control plane keeps its own.
  EXPECT_EQ(ids(dp().certificates(Scope::of(other_cp_))), (std::vector<std::string>{"c2"}));
  EXPECT_TRUE(dp().node(Scope::of(other_cp_), "node-2").has_value());
}

TEST_F(DataPlaneStoreTest, DeletingAnotherOrganizationsControlPlaneIdRemovesNothing) {
  dp().put_certificate(Scope::of(cp_), certificate("c1", "fp1", "subj1"));
  record_and_wait(cp_, node("node-1", 1000));
  EXPECT_FALSE(store_->delete_control_plane(globex_, cp_.id));
  EXPECT_EQ(dp().certificates(Scope::of(cp_)).size(), 1u);
  EXPECT_TRUE(dp().node(Scope::of(cp_), "node-1").has_value());
}

}  // namespace
