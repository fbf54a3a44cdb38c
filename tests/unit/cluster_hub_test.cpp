#include "cluster/hub.hpp"

#include "api/identity/organizations.hpp"
#include "cluster/payload.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace bj = boost::json;
namespace cluster = ok::cluster;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ok::store::ControlPlane;
using ok::store::OrgId;

constexpr auto kDebounce = 50ms;
constexpr auto kWait = 3s;  // bound of every wait for something that must happen
constexpr std::string_view kGroupType = "CLUSTER_TYPE_CONTROL_PLANE_GROUP";

template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds bound = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return done();
}

// Long enough for a debounced render that should not happen to have happened.
void settle() { std::this_thread::sleep_for(kDebounce * 4); }

bj::object decode_table(const cluster::Payload& p) {
  return bj::parse(cluster::gunzip(p.frame, 64 << 20)).as_object().at("config_table").as_object();
}

bj::object table(const std::string& marker) {
  return bj::object{{"_format_version", "3.0"},
                    {"services", bj::array{bj::object{{"id", "s-" + marker}, {"host", marker + ".test"}}}}};
}

// The configuration of each control plane is what the test sets; a group's is its members'
// tables, as the real source merges them. render() can be held (block/unblock).
class FakeSource final : public cluster::ConfigSource {
 public:
  cluster::Rendered render(const ControlPlane& cp) override {
    std::unique_lock lock(mutex_);
    ++renders_;
    names_.push_back(cp.name);
    cluster::Rendered out;
    if (conflicted_.contains(cp.id)) {
      out.conflicts.push_back(bj::object{{"conflict", cp.id}});
    } else if (auto g = groups_.find(cp.id); g != groups_.end()) {
      bj::array members;
      for (const auto& id : g->second) members.push_back(table_of(id));
      out.config_table = bj::object{{"_format_version", "3.0"}, {"members", std::move(members)}};
    } else {
      out.config_table = table_of(cp.id);
    }
    // What was read before a hold is what this render returns.
    ++in_render_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !blocked_; });
    --in_render_;
    return out;
  }

  void set(const std::string& id, bj::object t) {
    std::lock_guard lock(mutex_);
    tables_[id] = std::move(t);
  }
  void set_group(const std::string& group, std::vector<std::string> members) {
    std::lock_guard lock(mutex_);
    groups_[group] = std::move(members);
  }
  void set_conflicted(const std::string& id) {
    std::lock_guard lock(mutex_);
    conflicted_[id] = true;
  }
  void block() {
    std::lock_guard lock(mutex_);
    blocked_ = true;
  }
  void unblock() {
    {
      std::lock_guard lock(mutex_);
      blocked_ = false;
    }
    cv_.notify_all();
  }
  bool wait_until_held() {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kWait, [&] { return in_render_ > 0; });
  }
  int renders() const {
    std::lock_guard lock(mutex_);
    return renders_;
  }
  std::vector<std::string> names() const {
    std::lock_guard lock(mutex_);
    return names_;
  }

 private:
  bj::object table_of(const std::string& id) const {
    auto it = tables_.find(id);
    return it == tables_.end() ? bj::object{{"_format_version", "3.0"}} : it->second;
  }
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, bj::object> tables_;
  std::map<std::string, std::vector<std::string>> groups_;
  std::map<std::string, bool> conflicted_;
  bool blocked_ = false;
  int in_render_ = 0;
  int renders_ = 0;
  std::vector<std::string> names_;
};

class FakeSubscriber final : public cluster::Subscriber {
 public:
  explicit FakeSubscriber(std::string fingerprint = "fp", bool in_sync = true)
      : fingerprint_(std::move(fingerprint)), in_sync_(in_sync) {}

  void deliver(std::shared_ptr<const cluster::Payload> payload) override {
    std::lock_guard lock(mutex_);
    payloads_.push_back(std::move(payload));
  }
  void disconnect(const std::string& reason) override {
    std::lock_guard lock(mutex_);
    reasons_.push_back(reason);
  }
  const std::string& certificate_fingerprint() const override { return fingerprint_; }
  bool in_sync() const override { return in_sync_.load(); }

  std::size_t deliveries() const {
    std::lock_guard lock(mutex_);
    return payloads_.size();
  }
  std::shared_ptr<const cluster::Payload> last() const {
    std::lock_guard lock(mutex_);
    return payloads_.empty() ? nullptr : payloads_.back();
  }
  std::shared_ptr<const cluster::Payload> at(std::size_t i) const {
    std::lock_guard lock(mutex_);
    return payloads_.at(i);
  }
  std::vector<std::string> reasons() const {
    std::lock_guard lock(mutex_);
    return reasons_;
  }
  bool wait_deliveries(std::size_t n) {
    return eventually([&] { return deliveries() >= n; });
  }
  void set_in_sync(bool v) { in_sync_ = v; }

 private:
  std::string fingerprint_;
  std::atomic<bool> in_sync_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const cluster::Payload>> payloads_;
  std::vector<std::string> reasons_;
};

class HubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openkonnect-unit-" + ok::util::new_uuid());
    fs::create_directories(dir_);
    store_ = ok::store::open_store("sqlite:" + (dir_ / "test.db").string());
    org_ = new_org("Acme");
    cp_ = new_control_plane(org_, "first");
    source_.set(cp_.id, table("first"));
  }

  void TearDown() override {
    source_.unblock();
    hub_.reset();
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  cluster::Hub& hub(std::chrono::milliseconds debounce = kDebounce) {
    if (!hub_) hub_ = std::make_unique<cluster::Hub>(*store_, source_, debounce);
    return *hub_;
  }

  OrgId new_org(const std::string& name) {
    return OrgId(
        ok::api::identity::create_organization(*store_, name, "admin@" + name + ".test", 3600).organization_id);
  }

  ControlPlane new_control_plane(const OrgId& org, const std::string& name,
                                 std::string cluster_type = "CLUSTER_TYPE_CONTROL_PLANE") {
    ControlPlane cp;
    cp.id = ok::util::new_uuid();
    cp.org_id = org.str();
    cp.name = name;
    cp.cluster_type = std::move(cluster_type);
    cp.created_at = cp.updated_at = 1000;
    store_->insert_control_plane(cp, {});
    return cp;
  }

  std::shared_ptr<FakeSubscriber> subscribe(const ControlPlane& cp, std::string fingerprint = "fp",
                                            bool in_sync = true) {
    auto s = std::make_shared<FakeSubscriber>(std::move(fingerprint), in_sync);
    hub().subscribe(cp, s);
    return s;
  }

  fs::path dir_;
  std::unique_ptr<ok::store::Store> store_;
  FakeSource source_;
  std::unique_ptr<cluster::Hub> hub_;  // after what it refers to: destroyed first
  OrgId org_{""};
  ControlPlane cp_;
};

TEST_F(HubTest, SubscribeDeliversTheCurrentPayloadAtOnce) {
  auto s = subscribe(cp_);
  ASSERT_EQ(s->deliveries(), 1u);  // during subscribe(), not later
  const auto p = s->last();
  ASSERT_TRUE(p);
  EXPECT_EQ(decode_table(*p), table("first"));
  EXPECT_EQ(p->config_hash, cluster::make_payload(table("first"), 0)->config_hash);
  EXPECT_EQ(source_.renders(), 1);

  // A second data plane gets the very same payload, without another render.
  auto t = subscribe(cp_);
  ASSERT_EQ(t->deliveries(), 1u);
  EXPECT_EQ(t->last(), p);
  EXPECT_EQ(source_.renders(), 1);
  EXPECT_EQ(hub().counters().pushes.load(), 2u);
  EXPECT_EQ(hub().counters().push_bytes.load(), 2 * p->frame.size());
}

TEST_F(HubTest, ABurstOfChangesRendersOnceAndDeliversOnce) {
  std::vector<std::shared_ptr<FakeSubscriber>> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(subscribe(cp_));
  ASSERT_EQ(source_.renders(), 1);
  const auto first_hash = subs[0]->last()->config_hash;

  source_.set(cp_.id, table("second"));
  for (int i = 0; i < 100; ++i) hub().changed(org_, cp_.id);
  for (auto& s : subs) ASSERT_TRUE(s->wait_deliveries(2));
  settle();
  EXPECT_EQ(source_.renders(), 2);
  for (auto& s : subs) {
    EXPECT_EQ(s->deliveries(), 2u);
    EXPECT_EQ(s->last(), subs[0]->last());  // one payload, shared
  }
  EXPECT_NE(subs[0]->last()->config_hash, first_hash);
  EXPECT_EQ(decode_table(*subs[0]->last()), table("second"));
  EXPECT_EQ(hub().counters().renders.load(), 2u);
}

TEST_F(HubTest, EveryChangeReachesTheDataPlanes) {
  auto a = subscribe(cp_);
  auto b = subscribe(cp_);
  for (int round = 2; round <= 4; ++round) {
    source_.set(cp_.id, table("round-" + std::to_string(round)));
    hub().changed(org_, cp_.id);
    ASSERT_TRUE(a->wait_deliveries(round)) << "round " << round;
    ASSERT_TRUE(b->wait_deliveries(round)) << "round " << round;
    EXPECT_EQ(decode_table(*a->last()), table("round-" + std::to_string(round)));
    EXPECT_EQ(a->last(), b->last());
    // Still connected after each push.
    EXPECT_EQ(hub().connected().at(cp_.id).total, 2u);
  }
}

TEST_F(HubTest, RendersDebounceAfterTheFirstChange) {
  auto s = subscribe(cp_);
  source_.set(cp_.id, table("second"));
  const auto start = std::chrono::steady_clock::now();
  hub().changed(org_, cp_.id);
  ASSERT_TRUE(s->wait_deliveries(2));
  EXPECT_GE(std::chrono::steady_clock::now() - start, kDebounce);
}

TEST_F(HubTest, UnchangedConfigurationKeepsItsHashAndFrame) {
  auto s = subscribe(cp_);
  const auto first = s->last();
  hub().changed(org_, cp_.id);  // nothing actually changed
  ASSERT_TRUE(eventually([&] { return source_.renders() == 2; }));
  settle();
  // Whether it is re-sent or not, the hash is the same (the listener skips equal hashes) …
  const auto now = hub().current(cp_);
  ASSERT_TRUE(now.payload);
  EXPECT_EQ(now.payload->config_hash, first->config_hash);
  for (std::size_t i = 0; i < s->deliveries(); ++i) EXPECT_EQ(s->at(i)->config_hash, first->config_hash);
  // … and the frame already made is kept.
  EXPECT_EQ(now.payload, first);
  EXPECT_EQ(source_.renders(), 2);

  // A real change moves it.
  source_.set(cp_.id, table("second"));
  hub().changed(org_, cp_.id);
  ASSERT_TRUE(eventually([&] { return s->last()->config_hash != first->config_hash; }));
}

TEST_F(HubTest, CurrentRendersOnlyWhenStale) {
  auto& h = hub();
  const auto a = h.current(cp_);
  ASSERT_TRUE(a.payload);
  EXPECT_EQ(source_.renders(), 1);
  EXPECT_GT(a.changed_at, 0);
  EXPECT_EQ(h.current(cp_).payload, a.payload);
  EXPECT_EQ(source_.renders(), 1);  // fresh: no render

  // No data plane is connected, so the hub's thread leaves it; current() renders it.
  source_.set(cp_.id, table("second"));
  h.changed(org_, cp_.id);
  settle();
  EXPECT_EQ(source_.renders(), 1);
  const auto b = h.current(cp_);
  EXPECT_EQ(source_.renders(), 2);
  ASSERT_TRUE(b.payload);
  EXPECT_NE(b.payload->config_hash, a.payload->config_hash);
  EXPECT_EQ(decode_table(*b.payload), table("second"));
  EXPECT_GE(b.changed_at, a.changed_at);
}

TEST_F(HubTest, ConflictsForbidAPush) {
  auto group = new_control_plane(org_, "group", std::string(kGroupType));
  source_.set_conflicted(group.id);
  auto s = subscribe(group);
  EXPECT_EQ(s->deliveries(), 0u);
  const auto now = hub().current(group);
  EXPECT_FALSE(now.payload);
  ASSERT_EQ(now.conflicts.size(), 1u);
  EXPECT_EQ(now.conflicts[0].at("conflict").as_string(), group.id);
}

TEST_F(HubTest, RemovedDisconnectsOnlyThatControlPlanesDataPlanes) {
  const auto other = new_control_plane(org_, "second");
  auto a1 = subscribe(cp_);
  auto a2 = subscribe(cp_);
  auto b = subscribe(other);
  hub().removed(org_, cp_.id);
  EXPECT_EQ(a1->reasons().size(), 1u);
  EXPECT_EQ(a2->reasons().size(), 1u);
  EXPECT_TRUE(b->reasons().empty());
  const auto connected = hub().connected();
  EXPECT_FALSE(connected.contains(cp_.id));
  ASSERT_TRUE(connected.contains(other.id));
  EXPECT_EQ(connected.at(other.id).total, 1u);

  // Later changes reach nobody of the removed control plane.
  hub().changed(org_, cp_.id);
  settle();
  EXPECT_EQ(a1->deliveries(), 1u);
  EXPECT_EQ(b->deliveries(), 1u);
  // Removing what the hub does not know is harmless.
  hub().removed(org_, "no-such-control-plane");
  EXPECT_TRUE(b->reasons().empty());
}

TEST_F(HubTest, RemovedIsPerOrganization) {
  const auto globex = new_org("Globex");
  const auto theirs = new_control_plane(globex, "theirs");
  auto mine = subscribe(cp_);
  auto other = subscribe(theirs);
  hub().removed(globex, cp_.id);  // the wrong organization for this id
  EXPECT_TRUE(mine->reasons().empty());
  hub().removed(org_, theirs.id);
  EXPECT_TRUE(other->reasons().empty());
}

TEST_F(HubTest, CertificateRemovedDisconnectsOnlyThatCertificatesDataPlanes) {
  const auto other = new_control_plane(org_, "second");
  auto pinned1 = subscribe(cp_, "fp-1");
  auto pinned2 = subscribe(cp_, "fp-2");
  auto pinned1_again = subscribe(cp_, "fp-1");
  auto elsewhere = subscribe(other, "fp-1");  // the same certificate pinned on another control plane
  hub().certificate_removed(org_, cp_.id, "fp-1");
  EXPECT_EQ(pinned1->reasons().size(), 1u);
  EXPECT_EQ(pinned1_again->reasons().size(), 1u);
  EXPECT_TRUE(pinned2->reasons().empty());
  EXPECT_TRUE(elsewhere->reasons().empty());

  hub().certificate_removed(org_, cp_.id, "fp-unknown");
  EXPECT_TRUE(pinned2->reasons().empty());
}

TEST_F(HubTest, AMemberChangeReachesItsOrganizationsGroupsOnly) {
  const auto member = new_control_plane(org_, "member");
  const auto sibling = new_control_plane(org_, "sibling");
  const auto group = new_control_plane(org_, "group", std::string(kGroupType));
  const auto globex = new_org("Globex");
  const auto their_member = new_control_plane(globex, "their-member");
  const auto their_group = new_control_plane(globex, "their-group", std::string(kGroupType));
  source_.set(member.id, table("member-v1"));
  source_.set(sibling.id, table("sibling"));
  source_.set(their_member.id, table("theirs"));
  source_.set_group(group.id, {member.id, sibling.id});
  source_.set_group(their_group.id, {their_member.id});

  auto group_dp = subscribe(group);
  auto sibling_dp = subscribe(sibling);
  auto their_group_dp = subscribe(their_group);
  ASSERT_EQ(group_dp->deliveries(), 1u);
  const auto before = group_dp->last()->config_hash;

  source_.set(member.id, table("member-v2"));
  hub().changed(org_, member.id);
  ASSERT_TRUE(group_dp->wait_deliveries(2));
  EXPECT_NE(group_dp->last()->config_hash, before);
  EXPECT_EQ(decode_table(*group_dp->last()).at("members").as_array()[0], bj::value(table("member-v2")));
  settle();
  EXPECT_EQ(group_dp->deliveries(), 2u);
  EXPECT_EQ(sibling_dp->deliveries(), 1u);      // a member's change is not its sibling's
  EXPECT_EQ(their_group_dp->deliveries(), 1u);  // nor another organization's group's
}

TEST_F(HubTest, TheHubReloadsTheControlPlaneFromTheStore) {
  auto s = subscribe(cp_);
  ASSERT_EQ(source_.names().back(), "first");
  store_->modify_control_plane(org_, cp_.id, [](ControlPlane& cp) { cp.name = "renamed"; });
  hub().changed(org_, cp_.id);
  ASSERT_TRUE(eventually([&] { return source_.renders() == 2; }));
  EXPECT_EQ(source_.names().back(), "renamed");
}

TEST_F(HubTest, AControlPlaneGoneFromTheStoreDisconnectsItsDataPlanes) {
  const auto doomed = new_control_plane(org_, "doomed");
  auto s = subscribe(doomed);
  auto survivor = subscribe(cp_);
  ASSERT_TRUE(store_->delete_control_plane(org_, doomed.id));
  hub().changed(org_, doomed.id);
  ASSERT_TRUE(eventually([&] { return !s->reasons().empty(); }));
  EXPECT_EQ(s->deliveries(), 1u);
  EXPECT_TRUE(survivor->reasons().empty());
  EXPECT_FALSE(hub().connected().contains(doomed.id));
}

TEST_F(HubTest, ConnectedCountsLiveSubscribersAndInSync) {
  const auto other = new_control_plane(org_, "second");
  auto a1 = subscribe(cp_, "fp", true);
  auto a2 = subscribe(cp_, "fp", false);
  auto a3 = subscribe(cp_, "fp", true);
  auto b1 = subscribe(other, "fp", false);
  auto c = hub().connected();
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c.at(cp_.id).total, 3u);
  EXPECT_EQ(c.at(cp_.id).in_sync, 2u);
  EXPECT_EQ(c.at(other.id).total, 1u);
  EXPECT_EQ(c.at(other.id).in_sync, 0u);

  a2->set_in_sync(true);
  EXPECT_EQ(hub().connected().at(cp_.id).in_sync, 3u);

  a3.reset();  // a data plane gone without unsubscribing: no longer counted
  EXPECT_EQ(hub().connected().at(cp_.id).total, 2u);
  hub().unsubscribe(org_, cp_.id, a1.get());
  EXPECT_EQ(hub().connected().at(cp_.id).total, 1u);
  hub().unsubscribe(org_, other.id, b1.get());
  EXPECT_FALSE(hub().connected().contains(other.id));

  // A subscriber that went away is skipped when pushing.
  source_.set(cp_.id, table("second"));
  hub().changed(org_, cp_.id);
  ASSERT_TRUE(a2->wait_deliveries(2));
  EXPECT_EQ(a1->deliveries(), 1u);  // unsubscribed
}

TEST_F(HubTest, RenderMetricsShowTheGauges) {
  const auto other = new_control_plane(org_, "second");
  auto a1 = subscribe(cp_, "fp", true);
  auto a2 = subscribe(cp_, "fp", false);
  auto b1 = subscribe(other, "fp", false);
  hub().counters().refused_connections.fetch_add(2);
  const auto m = hub().render_metrics();
  auto has = [&](const std::string& line) { return m.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("# TYPE openkonnect_data_planes_connected gauge")) << m;
  EXPECT_TRUE(has("openkonnect_data_planes_connected{control_plane_id=\"" + cp_.id + "\"} 2")) << m;
  EXPECT_TRUE(has("openkonnect_data_planes_connected{control_plane_id=\"" + other.id + "\"} 1")) << m;
  EXPECT_TRUE(has("# TYPE openkonnect_data_planes_sync gauge")) << m;
  EXPECT_TRUE(has("openkonnect_data_planes_sync{state=\"in_sync\"} 1")) << m;
  EXPECT_TRUE(has("openkonnect_data_planes_sync{state=\"out_of_sync\"} 2")) << m;
  EXPECT_TRUE(has("openkonnect_config_renders_total 2")) << m;  // one per control plane
  EXPECT_TRUE(has("openkonnect_config_pushes_total 3")) << m;
  EXPECT_TRUE(has("openkonnect_data_plane_refusals_total 2")) << m;
  EXPECT_TRUE(has("# TYPE openkonnect_config_push_bytes_total counter")) << m;
}

TEST_F(HubTest, ChangesDoNotWaitForARenderAndAreNotLost) {
  auto s = subscribe(cp_);
  source_.set(cp_.id, table("second"));
  source_.block();
  hub().changed(org_, cp_.id);
  ASSERT_TRUE(source_.wait_until_held());  // the hub's thread is inside render()

  // Meanwhile: more changes, and the readers that must not wait, return at once.
  source_.set(cp_.id, table("third"));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) hub().changed(org_, cp_.id);
  EXPECT_EQ(hub().connected().at(cp_.id).total, 1u);
  hub().certificate_removed(org_, cp_.id, "another-fp");
  (void)hub().render_metrics();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(s->deliveries(), 1u);

  source_.unblock();
  // The held render delivers "second"; the changes made during it are rendered after.
  ASSERT_TRUE(eventually([&] { return s->deliveries() >= 3; }));
  EXPECT_EQ(decode_table(*s->at(1)), table("second"));
  EXPECT_EQ(decode_table(*s->last()), table("third"));
  settle();
  EXPECT_EQ(s->deliveries(), 3u);
  EXPECT_EQ(source_.renders(), 3);
}

TEST_F(HubTest, DestroyingTheHubWithPendingChangesIsPrompt) {
  auto& h = hub(10s);  // a render would only come after ten seconds
  auto s = subscribe(cp_);
  h.changed(org_, cp_.id);
  const auto start = std::chrono::steady_clock::now();
  hub_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(s->deliveries(), 1u);
}

}  // namespace
