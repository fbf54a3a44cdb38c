#include "store/entity_store.hpp"

#include "store/store.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using ok::store::ControlPlane;
using ok::store::EntityKey;
using ok::store::EntityPage;
using ok::store::EntityPageQuery;
using ok::store::EntityRow;
using ok::store::EntityStore;
using ok::store::EntityTransaction;
using ok::store::FieldFilter;
using ok::store::MissingReferenceError;
using ok::store::OnDelete;
using ok::store::OrgId;
using ok::store::Reference;
using ok::store::ReferencedError;
using ok::store::Scope;
using ok::store::Store;
using ok::store::UniqueViolation;

// Composite unique keys join their values with this separator (store/entity_store.hpp).
constexpr char kKeySeparator = '\x1f';

// A row whose body is a small JSON object holding its id and name.
EntityRow row(std::string type, std::string id, std::string name = "", std::vector<std::string> tags = {}) {
  EntityRow r;
  r.type = std::move(type);
  r.id = std::move(id);
  r.body = fmt::format(R"({{"id":"{}","name":"{}"}})", r.id, name);
  if (!name.empty()) r.unique_keys.emplace_back("name", name);
  r.tags = std::move(tags);
  return r;
}

EntityRow child(std::string type, std::string id, std::string parent_type, std::string parent_id, OnDelete on_delete,
                std::string field = "parent") {
  auto r = row(std::move(type), std::move(id));
  r.references.push_back({std::move(field), std::move(parent_type), std::move(parent_id), on_delete});
  return r;
}

std::vector<std::string> ids(const std::vector<ok::store::StoredEntity>& items) {
  std::vector<std::string> out;
  for (const auto& e : items) out.push_back(e.id);
  return out;
}

class EntityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("openkonnect-unit-" + ok::util::new_uuid());
    fs::create_directories(dir_);
    store_ = ok::store::open_store("sqlite:" + (dir_ / "test.db").string());
    org_ = bootstrap_org();
    cp_ = new_control_plane("default");
  }

  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The least an organization needs: itself, an admin in a team, and the admin's token.
  OrgId bootstrap_org() {
    ok::store::OrganizationBootstrap b;
    b.organization.id = ok::util::new_uuid();
    b.organization.name = "Acme";
    b.organization.created_at = b.organization.updated_at = 1000;
    b.admin.id = ok::util::new_uuid();
    b.admin.org_id = b.organization.id;
    b.admin.email = "admin@acme.test";
    b.admin.created_at = b.admin.updated_at = 1000;
    b.organization.owner_id = b.admin.id;
    ok::store::Team team;
    team.id = ok::util::new_uuid();
    team.org_id = b.organization.id;
    team.name = "Organization Admin";
    team.system_team = true;
    team.created_at = team.updated_at = 1000;
    b.admin_team_id = team.id;
    b.system_teams.push_back(team);
    b.admin_token.id = ok::util::new_uuid();
    b.admin_token.org_id = b.organization.id;
    b.admin_token.owner_id = b.admin.id;
    b.admin_token.name = "bootstrap";
    b.admin_token.token_hash = ok::util::new_uuid();
    b.admin_token.created_at = b.admin_token.updated_at = 1000;
    store_->bootstrap_organization(b);
    return OrgId(b.organization.id);
  }

  ControlPlane new_control_plane(std::string name) {
    ControlPlane cp;
    cp.id = ok::util::new_uuid();
    cp.org_id = org_.str();
    cp.name = std::move(name);
    cp.created_at = cp.updated_at = 1000;
    store_->insert_control_plane(cp, {});
    return cp;
  }

  EntityStore& entities() { return store_->entities(); }
  Scope scope() const { return Scope::of(cp_); }

  void put(const EntityRow& r) { put(scope(), r); }
  void put(const Scope& s, const EntityRow& r) {
    entities().write(s, [&](EntityTransaction& tx) { tx.put(r); });
  }

  bool remove(const std::string& type, const std::string& id, bool force = false) {
    bool removed = false;
    entities().write(scope(), [&](EntityTransaction& tx) { removed = tx.remove(type, id, force); });
    return removed;
  }

  bool exists(const std::string& type, const std::string& id) {
    return entities().get(scope(), type, {"id", id}).has_value();
  }

  EntityPage page(EntityPageQuery query) { return entities().page(scope(), query); }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  OrgId org_{""};
  ControlPlane cp_;
};

// ---------------------------------------------------------------- put and get

TEST_F(EntityStoreTest, PutThenGetByIdAndByUniqueKey) {
  const auto r = row("services", "s1", "billing");
  put(r);
  const auto by_id = entities().get(scope(), "services", {"id", "s1"});
  ASSERT_TRUE(by_id.has_value());
  EXPECT_EQ(by_id->id, "s1");
  EXPECT_EQ(by_id->body, r.body);

  const auto by_name = entities().get(scope(), "services", {"name", "billing"});
  ASSERT_TRUE(by_name.has_value());
  EXPECT_EQ(by_name->id, "s1");

  EXPECT_FALSE(entities().get(scope(), "services", {"id", "nope"}).has_value());
  EXPECT_FALSE(entities().get(scope(), "services", {"name", "nope"}).has_value());
  // Types are separate namespaces.
  EXPECT_FALSE(entities().get(scope(), "routes", {"id", "s1"}).has_value());
  EXPECT_FALSE(entities().get(scope(), "routes", {"name", "billing"}).has_value());
}

TEST_F(EntityStoreTest, ReadsInsideTheTransactionSeeItsOwnWrites) {
  entities().write(scope(), [&](EntityTransaction& tx) {
    tx.put(row("services", "s1", "billing"));
    EXPECT_TRUE(tx.get("services", {"name", "billing"}).has_value());
    tx.put(child("routes", "r1", "services", "s1", OnDelete::cascade, "service"));
    EXPECT_EQ(ids(tx.referencing("services", "s1", "routes", "service")), (std::vector<std::string>{"r1"}));
  });
}

TEST_F(EntityStoreTest, ReplaceKeepsOnlyTheNewUniqueKeysAndTags) {
  put(row("services", "s1", "old-name", {"blue", "shared"}));
  put(row("services", "s1", "new-name", {"green", "shared"}));

  EXPECT_FALSE(entities().get(scope(), "services", {"name", "old-name"}).has_value());
  ASSERT_TRUE(entities().get(scope(), "services", {"name", "new-name"}).has_value());
  EXPECT_EQ(entities().get(scope(), "services", {"id", "s1"})->body, row("services", "s1", "new-name").body);

  // The old key is free for another entity.
  EXPECT_NO_THROW(put(row("services", "s2", "old-name")));

  EXPECT_TRUE(page({.type = "services", .tags = {.tags = {"blue"}}}).items.empty());
  EXPECT_EQ(ids(page({.type = "services", .tags = {.tags = {"green"}}}).items), (std::vector<std::string>{"s1"}));
  EXPECT_EQ(ids(page({.type = "services", .tags = {.tags = {"shared"}}}).items), (std::vector<std::string>{"s1"}));
}

TEST_F(EntityStoreTest, ReplaceChangesReferences) {
  put(row("services", "a", "a"));
  put(row("services", "b", "b"));
  put(child("routes", "r1", "services", "a", OnDelete::restrict, "service"));
  put(child("routes", "r1", "services", "b", OnDelete::restrict, "service"));
  // r1 no longer references a, so a goes; b is still held.
  EXPECT_TRUE(remove("services", "a"));
  EXPECT_THROW(remove("services", "b"), ReferencedError);
  EXPECT_EQ(ids(entities().referencing(scope(), "services", "b", "routes", "service")),
            (std::vector<std::string>{"r1"}));
}

// ---------------------------------------------------------------- unique keys

TEST_F(EntityStoreTest, TakenKeyIsAUniqueViolation) {
  put(row("services", "s1", "billing"));
  try {
    put(row("services", "s2", "billing"));
    FAIL() << "expected UniqueViolation";
  } catch (const UniqueViolation& e) {
    EXPECT_EQ(e.key(), "name");
    EXPECT_EQ(e.value(), "billing");
    EXPECT_EQ(e.holder_id(), "s1");
    EXPECT_EQ(e.constraint(), "services:name");
  }
  // Nothing of the refused write remains, and the holder is untouched.
  EXPECT_FALSE(exists("services", "s2"));
  EXPECT_EQ(entities().get(scope(), "services", {"name", "billing"})->id, "s1");
  // The same name in another type is no conflict.
  EXPECT_NO_THROW(put(row("consumers", "c1", "billing")));
}

TEST_F(EntityStoreTest, ReplacingAnEntityWithItsOwnKeyIsNoConflict) {
  put(row("services", "s1", "billing", {"a"}));
  EXPECT_NO_THROW(put(row("services", "s1", "billing", {"b"})));
  EXPECT_EQ(entities().get(scope(), "services", {"name", "billing"})->id, "s1");
}

TEST_F(EntityStoreTest, CompositeUniqueKeys) {
  auto plugin = [](std::string id, std::string name, std::string route) {
    auto r = row("plugins", std::move(id));
    r.unique_keys.emplace_back("name,route", name + kKeySeparator + route);
    return r;
  };
  put(plugin("p1", "cors", "r1"));
  EXPECT_NO_THROW(put(plugin("p2", "cors", "r2")));
  EXPECT_NO_THROW(put(plugin("p3", "acl", "r1")));
  try {
    put(plugin("p4", "cors", "r1"));
    FAIL() << "expected UniqueViolation";
  } catch (const UniqueViolation& e) {
    EXPECT_EQ(e.key(), "name,route");
    EXPECT_EQ(e.value(), std::string("cors") + kKeySeparator + "r1");
    EXPECT_EQ(e.holder_id(), "p1");
  }
  EXPECT_FALSE(exists("plugins", "p4"));
}

TEST_F(EntityStoreTest, ViolationRollsBackTheWholeWrite) {
  put(row("services", "s1", "billing"));
  EXPECT_THROW(entities().write(scope(),
                                [&](EntityTransaction& tx) {
                                  tx.put(row("services", "s2", "fresh"));
                                  tx.put(row("services", "s3", "billing"));
                                }),
               UniqueViolation);
  EXPECT_FALSE(exists("services", "s2"));
  EXPECT_FALSE(entities().get(scope(), "services", {"name", "fresh"}).has_value());
}

TEST_F(EntityStoreTest, RefusedReplaceInsideATransactionLeavesTheEntityAsItWas) {
  // A put that throws should change nothing, so that a transaction that catches the error
  // (to try something else) still commits consistent rows.
  put(row("services", "s1", "mine", {"blue"}));
  put(row("services", "s2", "taken"));
  entities().write(scope(), [&](EntityTransaction& tx) {
    EXPECT_THROW(tx.put(row("services", "s1", "taken", {"green"})), UniqueViolation);
  });
  EXPECT_EQ(entities().get(scope(), "services", {"id", "s1"})->body, row("services", "s1", "mine").body);
  const bool key_kept = entities().get(scope(), "services", {"name", "mine"}).has_value();
  const bool tag_kept = !page({.type = "services", .tags = {.tags = {"blue"}}}).items.empty();
  EXPECT_TRUE(key_kept);
  EXPECT_TRUE(tag_kept);
}

// ---------------------------------------------------------------- references

TEST_F(EntityStoreTest, ReferenceToNothingIsAMissingReference) {
  try {
    put(child("routes", "r1", "services", "ghost", OnDelete::cascade, "service"));
    FAIL() << "expected MissingReferenceError";
  } catch (const MissingReferenceError& e) {
    EXPECT_EQ(e.reference().field, "service");
    EXPECT_EQ(e.reference().parent_type, "services");
    EXPECT_EQ(e.reference().parent_id, "ghost");
  }
  EXPECT_FALSE(exists("routes", "r1"));
  // The parent must be of the referenced type, not merely have the id.
  put(row("consumers", "c1"));
  EXPECT_THROW(put(child("routes", "r1", "services", "c1", OnDelete::cascade, "service")), MissingReferenceError);
}

TEST_F(EntityStoreTest, RemoveOfAnAbsentEntityIsFalse) {
  EXPECT_FALSE(remove("services", "nope"));
  put(row("services", "s1"));
  EXPECT_FALSE(remove("routes", "s1"));
  EXPECT_TRUE(remove("services", "s1"));
  EXPECT_FALSE(remove("services", "s1"));
}

TEST_F(EntityStoreTest, RemoveFreesKeysAndTags) {
  put(row("services", "s1", "billing", {"blue"}));
  EXPECT_TRUE(remove("services", "s1"));
  EXPECT_FALSE(exists("services", "s1"));
  EXPECT_FALSE(entities().get(scope(), "services", {"name", "billing"}).has_value());
  EXPECT_TRUE(page({.type = "services", .tags = {.tags = {"blue"}}}).items.empty());
  EXPECT_NO_THROW(put(row("services", "s2", "billing")));
}

TEST_F(EntityStoreTest, CascadeIsRecursive) {
  put(row("services", "s1", "svc"));
  auto route = child("routes", "r1", "services", "s1", OnDelete::cascade, "service");
  route.unique_keys.emplace_back("name", "route-1");
  route.tags = {"t"};
  put(route);
  put(child("plugins", "p1", "routes", "r1", OnDelete::cascade, "route"));
  put(row("services", "s2", "other"));
  put(child("routes", "r2", "services", "s2", OnDelete::cascade, "service"));

  EXPECT_TRUE(remove("services", "s1"));
  EXPECT_FALSE(exists("services", "s1"));
  EXPECT_FALSE(exists("routes", "r1"));
  EXPECT_FALSE(exists("plugins", "p1"));
  // What the cascade deleted released its keys and tags too.
  EXPECT_FALSE(entities().get(scope(), "routes", {"name", "route-1"}).has_value());
  EXPECT_EQ(ids(page({.type = "routes", .tags = {.tags = {"t"}}}).items), std::vector<std::string>{});
  // Unrelated entities stay.
  EXPECT_TRUE(exists("services", "s2"));
  EXPECT_TRUE(exists("routes", "r2"));
}

TEST_F(EntityStoreTest, RestrictRefusesAndDeletesNothing) {
  put(row("certificates", "cert"));
  put(child("snis", "sni-0", "certificates", "cert", OnDelete::cascade, "certificate"));
  for (int i = 1; i <= 7; ++i) {
    put(child("services", fmt::format("svc-{}", i), "certificates", "cert", OnDelete::restrict, "client_certificate"));
  }
  try {
    remove("certificates", "cert");
    FAIL() << "expected ReferencedError";
  } catch (const ReferencedError& e) {
    EXPECT_EQ(e.child_type(), "services");
    // At most five are named, each one of the referrers, none twice.
    EXPECT_EQ(e.child_ids().size(), 5u);
    const std::set<std::string> named(e.child_ids().begin(), e.child_ids().end());
    EXPECT_EQ(named.size(), e.child_ids().size());
    for (const auto& id : e.child_ids()) EXPECT_TRUE(id.starts_with("svc-")) << id;
  }
  // Nothing was deleted, not even what would have cascaded.
  EXPECT_TRUE(exists("certificates", "cert"));
  EXPECT_TRUE(exists("snis", "sni-0"));
  EXPECT_TRUE(exists("services", "svc-1"));
}

TEST_F(EntityStoreTest, RestrictDeepInACascadeRefusesTheWholeDelete) {
  put(row("services", "s1"));
  put(child("routes", "r1", "services", "s1", OnDelete::cascade, "service"));
  put(child("plugins", "p1", "routes", "r1", OnDelete::restrict, "route"));
  try {
    remove("services", "s1");
    FAIL() << "expected ReferencedError";
  } catch (const ReferencedError& e) {
    EXPECT_EQ(e.child_type(), "plugins");
    EXPECT_EQ(e.child_ids(), (std::vector<std::string>{"p1"}));
  }
  EXPECT_TRUE(exists("services", "s1"));
  EXPECT_TRUE(exists("routes", "r1"));
}

TEST_F(EntityStoreTest, RestrictUnlessForced) {
  put(row("consumer_groups", "g1"));
  put(child("consumer_group_consumers", "m1", "consumer_groups", "g1", OnDelete::restrict_unless_forced, "group"));
  put(child("consumer_group_consumers", "m2", "consumer_groups", "g1", OnDelete::restrict_unless_forced, "group"));
  try {
    remove("consumer_groups", "g1", false);
    FAIL() << "expected ReferencedError";
  } catch (const ReferencedError& e) {
    EXPECT_EQ(e.child_type(), "consumer_group_consumers");
    EXPECT_EQ(std::set<std::string>(e.child_ids().begin(), e.child_ids().end()), (std::set<std::string>{"m1", "m2"}));
  }
  EXPECT_TRUE(exists("consumer_groups", "g1"));
  EXPECT_TRUE(exists("consumer_group_consumers", "m1"));

  EXPECT_TRUE(remove("consumer_groups", "g1", true));
  EXPECT_FALSE(exists("consumer_groups", "g1"));
  EXPECT_FALSE(exists("consumer_group_consumers", "m1"));
  EXPECT_FALSE(exists("consumer_group_consumers", "m2"));
}

TEST_F(EntityStoreTest, ForceDoesNotOverridePlainRestrict) {
  put(row("services", "s1"));
  put(child("routes", "r1", "services", "s1", OnDelete::restrict, "service"));
  EXPECT_THROW(remove("services", "s1", true), ReferencedError);
  EXPECT_TRUE(exists("services", "s1"));
}

TEST_F(EntityStoreTest, ReferrerRemovedThroughAnotherCascadeDoesNotBlock) {
  // p1 references the service directly (restrict) and through its route (cascade): deleting the
  // service deletes the route and so p1, which therefore does not hold the delete up.
  put(row("services", "s1"));
  put(child("routes", "r1", "services", "s1", OnDelete::cascade, "service"));
  auto plugin = child("plugins", "p1", "routes", "r1", OnDelete::cascade, "route");
  plugin.references.push_back({"service", "services", "s1", OnDelete::restrict});
  put(plugin);

  EXPECT_TRUE(remove("services", "s1"));
  EXPECT_FALSE(exists("routes", "r1"));
  EXPECT_FALSE(exists("plugins", "p1"));
}

TEST_F(EntityStoreTest, RemovingTheReferrerFreesTheParent) {
  put(row("services", "s1"));
  put(child("routes", "r1", "services", "s1", OnDelete::restrict, "service"));
  EXPECT_TRUE(remove("routes", "r1"));
  EXPECT_TRUE(remove("services", "s1"));
}

// ---------------------------------------------------------------- pages

TEST_F(EntityStoreTest, PageIsInIdOrderWithSizeAndMore) {
  entities().write(scope(), [](EntityTransaction& tx) {
    for (const char* id : {"e", "b", "d", "a", "c"}) tx.put(row("services", id));
  });
  const auto first = page({.type = "services", .size = 3});
  EXPECT_EQ(ids(first.items), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(first.more);
  const auto second = page({.type = "services", .size = 3, .after_id = "c"});
  EXPECT_EQ(ids(second.items), (std::vector<std::string>{"d", "e"}));
  EXPECT_FALSE(second.more);
  // A page that ends exactly at the last entity says there is nothing more.
  const auto exact = page({.type = "services", .size = 5});
  EXPECT_EQ(exact.items.size(), 5u);
  EXPECT_FALSE(exact.more);
  EXPECT_TRUE(page({.type = "services", .after_id = "e"}).items.empty());
  EXPECT_TRUE(page({.type = "routes"}).items.empty());
}

TEST_F(EntityStoreTest, KeysetPagesHaveNoRepeatsOrGapsWhileRowsAreInserted) {
  // Ids leave room between them (id-000010, id-000020 …) for rows inserted during the walk.
  constexpr int kRows = 2500;
  std::set<std::string> original;
  entities().write(scope(), [&](EntityTransaction& tx) {
    for (int i = 1; i <= kRows; ++i) {
      auto r = row("services", fmt::format("id-{:06}", i * 10));
      original.insert(r.id);
      tx.put(r);
    }
  });

  std::vector<std::string> seen;
  std::set<std::string> inserted_ahead;
  std::string cursor;
  int pages = 0;
  while (true) {
    const auto p = page({.type = "services", .size = 100, .after_id = cursor});
    for (const auto& e : p.items) seen.push_back(e.id);
    ++pages;
    if (!p.more) break;
    ASSERT_FALSE(p.items.empty());
    cursor = p.items.back().id;
    // One row behind the cursor (the walk has passed it) and one ahead (the walk must meet it);
    // the "n" suffix keeps them apart from the original ids.
    const int at = std::stoi(cursor.substr(3, 6));
    const auto behind = fmt::format("id-{:06}n", at - 5);
    const auto ahead = fmt::format("id-{:06}n", at + 505);
    entities().write(scope(), [&](EntityTransaction& tx) {
      tx.put(row("services", behind));
      tx.put(row("services", ahead));
    });
    inserted_ahead.insert(ahead);
    ASSERT_LT(pages, 100) << "the walk does not end";
  }

  // Strictly ascending: no repeats, and the walk never went backwards.
  EXPECT_TRUE(std::adjacent_find(seen.begin(), seen.end(), std::greater_equal<>()) == seen.end());
  const std::set<std::string> seen_set(seen.begin(), seen.end());
  for (const auto& id : original) ASSERT_TRUE(seen_set.count(id)) << "gap at " << id;
  for (const auto& id : inserted_ahead) EXPECT_TRUE(seen_set.count(id)) << "missed " << id;
  EXPECT_EQ(seen.size(), original.size() + inserted_ahead.size());
}

TEST_F(EntityStoreTest, ParentFilterListsOnlyThatParentsChildren) {
  put(row("services", "s1"));
  put(row("services", "s2"));
  put(child("routes", "r3", "services", "s1", OnDelete::cascade, "service"));
  put(child("routes", "r1", "services", "s1", OnDelete::cascade, "service"));
  put(child("routes", "r2", "services", "s2", OnDelete::cascade, "service"));
  // Another field to the same parent is another relation.
  put(child("routes", "r4", "services", "s1", OnDelete::cascade, "backup_service"));

  const Reference of_s1{"service", "services", "s1"};
  EXPECT_EQ(ids(page({.type = "routes", .parent = of_s1}).items), (std::vector<std::string>{"r1", "r3"}));
  const auto first = page({.type = "routes", .size = 1, .parent = of_s1});
  EXPECT_EQ(ids(first.items), (std::vector<std::string>{"r1"}));
  EXPECT_TRUE(first.more);
  EXPECT_EQ(ids(page({.type = "routes", .size = 1, .after_id = "r1", .parent = of_s1}).items),
            (std::vector<std::string>{"r3"}));
  // Children of another type are not listed.
  EXPECT_TRUE(page({.type = "plugins", .parent = of_s1}).items.empty());
}

TEST_F(EntityStoreTest, TagsAllOfAndAnyOf) {
  entities().write(scope(), [](EntityTransaction& tx) {
    tx.put(row("services", "ab", "", {"a", "b"}));
    tx.put(row("services", "a", "", {"a"}));
    tx.put(row("services", "b", "", {"b"}));
    tx.put(row("services", "abc", "", {"a", "b", "c"}));
    tx.put(row("services", "c", "", {"c"}));
    tx.put(row("services", "none"));
  });
  EXPECT_EQ(ids(page({.type = "services", .tags = {.tags = {"a", "b"}}}).items),
            (std::vector<std::string>{"ab", "abc"}));
  EXPECT_EQ(ids(page({.type = "services", .tags = {.tags = {"a", "b"}, .any = true}}).items),
            (std::vector<std::string>{"a", "ab", "abc", "b"}));
  EXPECT_EQ(ids(page({.type = "services", .tags = {.tags = {"b", "c"}}}).items), (std::vector<std::string>{"abc"}));
  EXPECT_TRUE(page({.type = "services", .tags = {.tags = {"zzz"}}}).items.empty());

  // Pages of a tag filter continue by id too.
  const auto first = page({.type = "services", .size = 1, .tags = {.tags = {"a", "b"}, .any = true}});
  EXPECT_EQ(ids(first.items), (std::vector<std::string>{"a"}));
  EXPECT_TRUE(first.more);
  const auto next = page({.type = "services", .size = 10, .after_id = "a", .tags = {.tags = {"a"}}});
  EXPECT_EQ(ids(next.items), (std::vector<std::string>{"ab", "abc"}));
  EXPECT_FALSE(next.more);
}

TEST_F(EntityStoreTest, TagsTogetherWithAParent) {
  put(row("services", "s1"));
  auto tagged = [](std::string id, std::vector<std::string> tags) {
    auto r = child("routes", std::move(id), "services", "s1", OnDelete::cascade, "service");
    r.tags = std::move(tags);
    return r;
  };
  put(tagged("r1", {"a"}));
  put(tagged("r2", {"a", "b"}));
  put(tagged("r3", {"b"}));
  put(row("routes", "r4", "", {"a", "b"}));  // tagged, but not the service's

  const Reference of_s1{"service", "services", "s1"};
  EXPECT_EQ(ids(page({.type = "routes", .parent = of_s1, .tags = {.tags = {"a", "b"}}}).items),
            (std::vector<std::string>{"r2"}));
  EXPECT_EQ(ids(page({.type = "routes", .parent = of_s1, .tags = {.tags = {"a"}}}).items),
            (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(ids(page({.type = "routes", .parent = of_s1, .tags = {.tags = {"a", "b"}, .any = true}}).items),
            (std::vector<std::string>{"r1", "r2", "r3"}));
}

TEST_F(EntityStoreTest, FieldFilters) {
  entities().write(scope(), [](EntityTransaction& tx) {
    tx.put(row("services", "1", "Billing"));
    tx.put(row("services", "2", "drill"));
    tx.put(row("services", "3", "orders"));
  });
  const auto eq = [&](std::string value) {
    return ids(page({.type = "services", .filters = {{"name", FieldFilter::Op::eq, std::move(value)}}}).items);
  };
  const auto contains = [&](std::string value) {
    return ids(page({.type = "services", .filters = {{"name", FieldFilter::Op::contains, std::move(value)}}}).items);
  };
  EXPECT_EQ(eq("Billing"), (std::vector<std::string>{"1"}));
  // eq is exact.
  EXPECT_TRUE(eq("billing").empty());
  EXPECT_TRUE(eq("Bill").empty());
  // contains is a case-insensitive substring.
  EXPECT_EQ(contains("ILL"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(contains("bill"), (std::vector<std::string>{"1"}));
  EXPECT_TRUE(contains("xyz").empty());
  // A filter on a member the entities do not have matches nothing.
  EXPECT_TRUE(ids(page({.type = "services", .filters = {{"host", FieldFilter::Op::eq, "x"}}}).items).empty());
  // Filter fields are names, never paths or SQL.
  EXPECT_THROW(page({.type = "services", .filters = {{"name') OR 1=1 --", FieldFilter::Op::eq, "x"}}}),
               std::invalid_argument);
}

// ---------------------------------------------------------------- control planes

TEST_F(EntityStoreTest, ControlPlanesAreIsolated) {
  const auto other_cp = new_control_plane("other");
  const auto other = Scope::of(other_cp);
  put(row("services", "same-id", "billing", {"t"}));
  auto twin = row("services", "same-id", "billing", {"t"});
  twin.body = R"({"id":"same-id","name":"billing","twin":true})";
  // Same id and same unique key in another control plane: another entity, no conflict.
  EXPECT_NO_THROW(put(other, twin));

  EXPECT_EQ(entities().get(scope(), "services", {"id", "same-id"})->body, row("services", "same-id", "billing").body);
  EXPECT_EQ(entities().get(other, "services", {"id", "same-id"})->body, twin.body);

  put(other, row("services", "only-other", "x"));
  EXPECT_EQ(ids(page({.type = "services"}).items), (std::vector<std::string>{"same-id"}));
  EXPECT_EQ(ids(entities().page(other, {.type = "services"}).items),
            (std::vector<std::string>{"only-other", "same-id"}));
  EXPECT_FALSE(entities().get(scope(), "services", {"name", "x"}).has_value());
  EXPECT_EQ(ids(page({.type = "services", .tags = {.tags = {"t"}}}).items), (std::vector<std::string>{"same-id"}));

  // A reference cannot reach into another control plane.
  EXPECT_THROW(put(child("routes", "r1", "services", "only-other", OnDelete::cascade, "service")),
               MissingReferenceError);

  // Deleting in one leaves the other's twin.
  EXPECT_TRUE(remove("services", "same-id"));
  EXPECT_TRUE(entities().get(other, "services", {"id", "same-id"}).has_value());
  EXPECT_TRUE(entities().get(other, "services", {"name", "billing"}).has_value());
}

TEST_F(EntityStoreTest, DeleteControlPlaneRemovesItsEntities) {
  const auto doomed_cp = new_control_plane("doomed");
  const auto doomed = Scope::of(doomed_cp);
  put(doomed, row("services", "s1", "billing", {"t"}));
  put(doomed, child("routes", "r1", "services", "s1", OnDelete::restrict, "service"));
  put(row("services", "s1", "billing", {"t"}));

  ASSERT_TRUE(store_->delete_control_plane(org_, doomed_cp.id));
  EXPECT_FALSE(entities().get(doomed, "services", {"id", "s1"}).has_value());
  EXPECT_FALSE(entities().get(doomed, "services", {"name", "billing"}).has_value());
  EXPECT_TRUE(entities().page(doomed, {.type = "routes"}).items.empty());
  EXPECT_TRUE(entities().page(doomed, {.type = "services", .tags = {.tags = {"t"}}}).items.empty());
  EXPECT_TRUE(entities().referencing(doomed, "services", "s1", "routes", "service").empty());
  // The other control plane keeps its own.
  EXPECT_TRUE(exists("services", "s1"));
}

// ---------------------------------------------------------------- write_then

TEST_F(EntityStoreTest, WriteThenReportsSuccessOnceDurable) {
  std::promise<std::exception_ptr> outcome;
  entities().write_then(
      scope(), [](EntityTransaction& tx) { tx.put(row("services", "s1", "billing")); },
      [&](std::exception_ptr error) { outcome.set_value(error); });
  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(future.get(), nullptr);
  // Once `done` has run, the write is visible to every reader.
  EXPECT_TRUE(exists("services", "s1"));
}

TEST_F(EntityStoreTest, WriteThenReportsTheErrorOfWorkAndWritesNothing) {
  std::promise<std::exception_ptr> outcome;
  entities().write_then(
      scope(),
      [](EntityTransaction& tx) {
        tx.put(row("services", "s1", "billing"));
        throw std::runtime_error("changed my mind");
      },
      [&](std::exception_ptr error) { outcome.set_value(error); });
  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto error = future.get();
  ASSERT_NE(error, nullptr);
  try {
    std::rethrow_exception(error);
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "changed my mind");
  }
  EXPECT_FALSE(exists("services", "s1"));
  EXPECT_FALSE(entities().get(scope(), "services", {"name", "billing"}).has_value());
}

TEST_F(EntityStoreTest, WriteThenReportsStoreErrors) {
  put(row("services", "s1", "billing"));
  std::promise<std::exception_ptr> outcome;
  entities().write_then(
      scope(), [](EntityTransaction& tx) { tx.put(row("services", "s2", "billing")); },
      [&](std::exception_ptr error) { outcome.set_value(error); });
  auto future = outcome.get_future();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  const auto error = future.get();
  ASSERT_NE(error, nullptr);
  EXPECT_THROW(std::rethrow_exception(error), UniqueViolation);
  EXPECT_FALSE(exists("services", "s2"));
}

TEST_F(EntityStoreTest, WriteRethrowsTheErrorOfWork) {
  EXPECT_THROW(entities().write(scope(),
                                [](EntityTransaction& tx) {
                                  tx.put(row("services", "s1"));
                                  throw std::logic_error("no");
                                }),
               std::logic_error);
  EXPECT_FALSE(exists("services", "s1"));
}

}  // namespace
