#include "api/generation_cache.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace {

using ok::api::GenerationCache;
using ok::auth::Generations;

struct Counting {
  int loads = 0;
  std::string value = "v1";
  GenerationCache<std::string>::Load load() {
    return [this] {
      ++loads;
      return std::make_shared<const std::string>(value);
    };
  }
};

std::size_t length(const std::string& s) { return s.size(); }

TEST(GenerationCache, AnswersFromMemoryUntilTheOrganizationWrites) {
  Generations generations;
  GenerationCache<std::string> cache(generations, 8, 1 << 20, length);
  Counting source;
  EXPECT_EQ(*cache.get("org-a", "k", source.load()), "v1");
  EXPECT_EQ(*cache.get("org-a", "k", source.load()), "v1");
  EXPECT_EQ(source.loads, 1);

  source.value = "v2";
  generations.bump("org-a");
  EXPECT_EQ(*cache.get("org-a", "k", source.load()), "v2");
  EXPECT_EQ(source.loads, 2);
}

// Another node's changes: while they cannot be heard nothing is served from memory, and once
// they can, everything filled before is read again (anything may have changed meanwhile).
TEST(GenerationCache, NothingIsTrustedWhileOtherNodesCannotBeHeardAndEverythingIsReadAgainAfter) {
  Generations generations;
  GenerationCache<std::string> cache(generations, 8, 1 << 20, length);
  Counting a, b;
  EXPECT_EQ(*cache.get("org-a", "k", a.load()), "v1");
  EXPECT_EQ(*cache.get("org-b", "k", b.load()), "v1");

  generations.distrust();
  a.value = "v2";
  EXPECT_EQ(*cache.get("org-a", "k", a.load()), "v2");
  EXPECT_EQ(*cache.get("org-a", "k", a.load()), "v2");
  EXPECT_EQ(a.loads, 3) << "each request reads while distrusted";

  b.value = "v2";  // changed while this node could not hear
  generations.invalidate_all();
  generations.trust();
  EXPECT_EQ(*cache.get("org-b", "k", b.load()), "v2");
  EXPECT_EQ(*cache.get("org-b", "k", b.load()), "v2");
  EXPECT_EQ(b.loads, 2) << "read again once, then cached";
}

TEST(GenerationCache, AnotherOrganizationsWriteKeepsTheEntry) {
  Generations generations;
  GenerationCache<std::string> cache(generations, 8, 1 << 20, length);
  Counting source;
  cache.get("org-a", "k", source.load());
  generations.bump("org-b");
  cache.get("org-a", "k", source.load());
  // Organizations share hash buckets, so a collision may cost a reload, never a stale answer.
  EXPECT_LE(source.loads, 2);
  EXPECT_GE(source.loads, 1);
}

TEST(GenerationCache, KeysAreSeparatedPerOrganization) {
  Generations generations;
  GenerationCache<std::string> cache(generations, 8, 1 << 20, length);
  Counting a{.loads = 0, .value = "a"};
  Counting b{.loads = 0, .value = "b"};
  EXPECT_EQ(*cache.get("org-a", "k", a.load()), "a");
  EXPECT_EQ(*cache.get("org-b", "k", b.load()), "b");
  // "org-a" + "\nk" cannot be confused with an organization whose id carries the key.
  EXPECT_EQ(*cache.get("org-a\nk", "", b.load()), "b");
  EXPECT_EQ(b.loads, 2);
}

TEST(GenerationCache, AWriteDuringALoadInvalidatesWhatThatLoadRead) {
  Generations generations;
  GenerationCache<std::string> cache(generations, 8, 1 << 20, length);
  int loads = 0;
  // The write commits while the value is being read: what was read may predate it.
  auto racing = [&] {
    ++loads;
    generations.bump("org-a");
    return std::make_shared<const std::string>("read during a write");
  };
  cache.get("org-a", "k", racing);
  Counting source;
  EXPECT_EQ(*cache.get("org-a", "k", source.load()), "v1");
  EXPECT_EQ(source.loads, 1);
}

TEST(GenerationCache, NothingLoadedIsNotRemembered) {
  Generations generations;
  GenerationCache<std::string> cache(generations, 8, 1 << 20, length);
  int loads = 0;
  auto nothing = [&] {
    ++loads;
    return std::shared_ptr<const std::string>();
  };
  EXPECT_EQ(cache.get("org-a", "k", nothing), nullptr);
  EXPECT_EQ(cache.get("org-a", "k", nothing), nullptr);
  EXPECT_EQ(loads, 2);
}

TEST(GenerationCache, StaysWithinItsByteBudget) {
  Generations generations;
  constexpr std::size_t kBudget = 1000;
  GenerationCache<std::string> cache(generations, 1000, kBudget, length);
  int loads = 0;
  auto big = [&] {
    ++loads;
    return std::make_shared<const std::string>(400, 'x');
  };
  // More than a shard can hold of one key space: earlier entries are dropped, and a value
  // larger than the whole budget is served but never kept.
  for (int i = 0; i < 200; ++i) cache.get("org-a", "key-" + std::to_string(i), big);
  EXPECT_EQ(loads, 200);
  for (int i = 0; i < 200; ++i) cache.get("org-a", "key-" + std::to_string(i), big);
  EXPECT_GT(loads, 200);
  auto huge = [] { return std::make_shared<const std::string>(kBudget + 1, 'y'); };
  EXPECT_EQ(cache.get("org-a", "huge", huge)->size(), kBudget + 1);
  int huge_loads = 0;
  cache.get("org-a", "huge", [&] {
    ++huge_loads;
    return std::make_shared<const std::string>(1, 'z');
  });
  EXPECT_EQ(huge_loads, 1);
}

TEST(GenerationCache, UsageCountsWhatIsHeldAcrossShards) {
  Generations generations;
  constexpr std::size_t kBudget = 1000;
  GenerationCache<std::string> cache(generations, 1000, kBudget, length);
  EXPECT_EQ(cache.usage().entries, 0U);
  EXPECT_EQ(cache.usage().bytes, 0U);
  Counting source;
  cache.get("org-a", "k1", source.load());
  cache.get("org-a", "k2", source.load());
  // Each entry weighs its value ("v1") and its key ("org-a\nk1").
  EXPECT_EQ(cache.usage().entries, 2U);
  EXPECT_EQ(cache.usage().bytes, 2 * (2 + std::string("org-a\nk1").size()));
  // Refilling a stale entry replaces it rather than adding to it.
  generations.bump("org-a");
  cache.get("org-a", "k1", source.load());
  EXPECT_EQ(cache.usage().entries, 2U);
  // Never more than the budget of every shard together.
  auto big = [] { return std::make_shared<const std::string>(400, 'x'); };
  for (int i = 0; i < 500; ++i) cache.get("org-a", "key-" + std::to_string(i), big);
  EXPECT_LE(cache.usage().bytes, GenerationCache<std::string>::kShards * kBudget);
}

}  // namespace
