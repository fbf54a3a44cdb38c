// The GCRA limiter's arithmetic, driven with explicit clock readings: burst, steady rate,
// refill, Retry-After exactness, independence of keys, clocks that go backwards, disabled
// policies, and the memory held for many keys.

#include "ratelimit/gcra_limiter.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ok::ratelimit::Budget;
using ok::ratelimit::Clock;
using ok::ratelimit::Decision;
using ok::ratelimit::GcraLimiter;
using ok::ratelimit::Mode;
using ok::ratelimit::Policy;

// A reading far from the clock's epoch, so that tests can also go back in time from it.
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(24 * 365);

Policy policy(std::uint64_t quota, std::int64_t window_seconds, std::string name = "token") {
  return Policy{std::move(name), quota, std::chrono::seconds(window_seconds)};
}

// ceil(window / quota) in whole seconds: the wait for one request once the burst is spent.
std::uint64_t interval_ceil_seconds(const Policy& p) {
  const auto ns = std::chrono::nanoseconds(p.window).count() / static_cast<std::int64_t>(p.quota);
  return static_cast<std::uint64_t>((ns + 999'999'999) / 1'000'000'000);
}

// Spends the whole quota of `key` at `now`, checking that `remaining` counts down exactly.
void spend_burst(GcraLimiter& limiter, const std::string& key, const Policy& p, Clock::time_point now) {
  for (std::uint64_t i = 1; i <= p.quota; ++i) {
    const Decision d = limiter.check(key, p, now, Mode::consume);
    ASSERT_TRUE(d.allowed) << "request " << i << " of the burst refused";
    ASSERT_EQ(d.remaining, p.quota - i) << "request " << i;
    ASSERT_EQ(d.retry_after_seconds, 0u);
  }
}

TEST(GcraLimiter, FreshKeyGetsWholeQuotaAsBurstWithExactCountdown) {
  GcraLimiter limiter;
  const Policy p = policy(5, 60);
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const Decision d = limiter.check("k", p, kT0, Mode::consume);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 5 - i);
    EXPECT_EQ(d.reset_seconds, 12 * i) << "each spent request takes window/quota = 12 s to come back";
  }
  const Decision refused = limiter.check("k", p, kT0, Mode::consume);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0u);
  EXPECT_GE(refused.retry_after_seconds, 1u);
  EXPECT_EQ(refused.retry_after_seconds, 12u);
  EXPECT_EQ(refused.reset_seconds, 60u);
}

TEST(GcraLimiter, BurstCountdownForSeveralQuotas) {
  for (const auto& p : {policy(1, 60), policy(2, 4), policy(7, 60), policy(100, 1), policy(1000, 3600)}) {
    GcraLimiter limiter;
    spend_burst(limiter, "k", p, kT0);
    const Decision refused = limiter.check("k", p, kT0, Mode::consume);
    EXPECT_FALSE(refused.allowed) << p.quota << "/" << p.window.count();
    EXPECT_EQ(refused.remaining, 0u);
    EXPECT_GE(refused.retry_after_seconds, 1u);
    EXPECT_EQ(refused.retry_after_seconds, std::max<std::uint64_t>(1, interval_ceil_seconds(p)))
        << p.quota << "/" << p.window.count();
  }
}

TEST(GcraLimiter, SteadyRateAtTheQuotaIsAlwaysAllowed) {
  GcraLimiter limiter;
  const Policy p = policy(5, 60);
  auto now = kT0;
  for (int i = 0; i < 500; ++i) {
    const Decision d = limiter.check("k", p, now, Mode::consume);
    ASSERT_TRUE(d.allowed) << "request " << i;
    ASSERT_EQ(d.remaining, 4u) << "request " << i;
    ASSERT_EQ(d.reset_seconds, 12u);
    now += 12s;
  }
}

TEST(GcraLimiter, SteadyRateWithUnevenIntervalIsAlwaysAllowed) {
  // 7 per minute: 8.571428571... s apart, which does not divide into nanoseconds evenly.
  GcraLimiter limiter;
  const Policy p = policy(7, 60);
  const auto interval = std::chrono::nanoseconds(60s) / 7 + 1ns;
  auto now = kT0;
  for (int i = 0; i < 1000; ++i) {
    const Decision d = limiter.check("k", p, now, Mode::consume);
    ASSERT_TRUE(d.allowed) << "request " << i;
    ASSERT_EQ(d.remaining, 6u) << "request " << i;
    now += interval;
  }
}

TEST(GcraLimiter, SteadyRateAfterBurstIsOnePerInterval) {
  GcraLimiter limiter;
  const Policy p = policy(5, 60);
  spend_burst(limiter, "k", p, kT0);
  // After the burst, exactly one request per 12 s; each with nothing left over. (The probe
  // one second early is refused with Retry-After 1, which closes the key until `at` exactly.)
  for (int i = 1; i <= 20; ++i) {
    const auto at = kT0 + i * 12s;
    const Decision early = limiter.check("k", p, at - 1s, Mode::consume);
    EXPECT_FALSE(early.allowed) << "interval " << i;
    EXPECT_EQ(early.retry_after_seconds, 1u);
    const Decision d = limiter.check("k", p, at, Mode::consume);
    ASSERT_TRUE(d.allowed) << "interval " << i;
    EXPECT_EQ(d.remaining, 0u);
    EXPECT_EQ(d.reset_seconds, 60u);
  }
}

TEST(GcraLimiter, NeverMoreThanTheBucketAllowsInAnyInterval) {
  // A client hammering every 100 ms for ten minutes. GCRA is a token bucket of `quota`
  // requests refilled one per window/quota, so any interval of length L admits at most
  // quota + floor(L / interval): never more than the quota within one interval (no window
  // edge where twice the quota passes in a moment), and the long-run rate is the quota.
  GcraLimiter limiter;
  const Policy p = policy(5, 60);
  std::vector<Clock::time_point> allowed;
  for (auto now = kT0; now < kT0 + 600s; now += 100ms) {
    if (!limiter.check("k", p, now, Mode::consume).allowed) continue;
    allowed.push_back(now);
    for (const auto length : {1s, 11s, 12s, 30s, 60s, 120s}) {
      const auto bound = 5u + static_cast<std::size_t>(length / 12s);
      std::size_t in_interval = 0;
      for (auto it = allowed.rbegin(); it != allowed.rend() && *it > now - length; ++it) ++in_interval;
      ASSERT_LE(in_interval, bound) << "within " << length.count() << " s before +" << (now - kT0) / 1ms << " ms";
    }
  }
  EXPECT_LE(allowed.size(), 5u + 600u / 12u);
  EXPECT_GE(allowed.size(), 5u + 600u / 12u - 10u) << "a busy client should still get roughly the quota";
}

TEST(GcraLimiter, RefillAfterWaiting) {
  GcraLimiter limiter;
  const Policy p = policy(5, 60);
  spend_burst(limiter, "k", p, kT0);
  EXPECT_FALSE(limiter.check("k", p, kT0 + 11s, Mode::consume).allowed);

  // 30 s later two and a half requests have come back: the first spends one, leaving one.
  GcraLimiter half;
  spend_burst(half, "k", p, kT0);
  Decision d = half.check("k", p, kT0 + 30s, Mode::consume);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset_seconds, 42u);
  d = half.check("k", p, kT0 + 30s, Mode::consume);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_FALSE(half.check("k", p, kT0 + 30s, Mode::consume).allowed);

  // A whole window later the whole quota is back, and no more than that.
  GcraLimiter full;
  spend_burst(full, "k", p, kT0);
  spend_burst(full, "k", p, kT0 + 60s);
  EXPECT_FALSE(full.check("k", p, kT0 + 60s, Mode::consume).allowed);

  // Waiting much longer than a window does not bank more than the quota.
  GcraLimiter idle;
  spend_burst(idle, "k", p, kT0);
  spend_burst(idle, "k", p, kT0 + 10h);
  EXPECT_FALSE(idle.check("k", p, kT0 + 10h, Mode::consume).allowed);
}

TEST(GcraLimiter, RetryAfterIsExact) {
  for (const auto& p : {policy(5, 60), policy(2, 4), policy(7, 60), policy(3, 1), policy(1000, 1), policy(1, 3600)}) {
    SCOPED_TRACE(fmt::format("{}/{}", p.quota, p.window.count()));
    GcraLimiter limiter;
    spend_burst(limiter, "k", p, kT0);
    // Refused a third of an interval after the burst, so the wait is not a whole number.
    const auto refused_at = kT0 + std::chrono::nanoseconds(p.window) / static_cast<std::int64_t>(p.quota) / 3;
    const Decision refused = limiter.check("k", p, refused_at, Mode::consume);
    ASSERT_FALSE(refused.allowed);
    ASSERT_GE(refused.retry_after_seconds, 1u);
    const auto retry_after = std::chrono::seconds(refused.retry_after_seconds);

    // Sooner, even by a nanosecond: refused, and told to wait at least another second.
    const Decision early = limiter.check("k", p, refused_at + retry_after - 1ns, Mode::consume);
    EXPECT_FALSE(early.allowed);
    EXPECT_GE(early.retry_after_seconds, 1u);
    EXPECT_EQ(early.retry_after_seconds, 1u);

    // Whole seconds later: the remaining wait points at the same instant as the first answer.
    const Decision midway = limiter.check("k", p, refused_at + retry_after / 2, Mode::consume);
    EXPECT_FALSE(midway.allowed);
    EXPECT_GE(midway.retry_after_seconds, 1u);
    EXPECT_EQ(refused_at + retry_after / 2 + std::chrono::seconds(midway.retry_after_seconds),
              refused_at + retry_after);

    // Exactly Retry-After later: allowed.
    const Decision d = limiter.check("k", p, refused_at + retry_after, Mode::consume);
    EXPECT_TRUE(d.allowed);
  }
}

TEST(GcraLimiter, RetryAfterCountsDownWhileClosed) {
  GcraLimiter limiter;
  const Policy p = policy(1, 60);
  ASSERT_TRUE(limiter.check("k", p, kT0, Mode::consume).allowed);
  const Decision refused = limiter.check("k", p, kT0, Mode::consume);
  ASSERT_FALSE(refused.allowed);
  ASSERT_EQ(refused.retry_after_seconds, 60u);
  for (std::uint64_t s = 1; s < 60; ++s) {
    const Decision d = limiter.check("k", p, kT0 + std::chrono::seconds(s), Mode::consume);
    ASSERT_FALSE(d.allowed) << s;
    ASSERT_EQ(d.retry_after_seconds, 60 - s) << s;
  }
  EXPECT_TRUE(limiter.check("k", p, kT0 + 60s, Mode::consume).allowed);
}

TEST(GcraLimiter, RefusedRequestsDoNotConsumeQuota) {
  GcraLimiter limiter;
  const Policy p = policy(5, 60);
  spend_burst(limiter, "k", p, kT0);
  const Decision first = limiter.check("k", p, kT0, Mode::consume);
  ASSERT_FALSE(first.allowed);
  ASSERT_EQ(first.retry_after_seconds, 12u);
  // Hammering while refused does not push the reopening further away...
  for (auto now = kT0; now < kT0 + 12s; now += 10ms) {
    const Decision d = limiter.check("k", p, now, Mode::consume);
    ASSERT_FALSE(d.allowed);
    ASSERT_LE(now + std::chrono::seconds(d.retry_after_seconds), kT0 + 13s);
  }
  EXPECT_TRUE(limiter.check("k", p, kT0 + 12s, Mode::consume).allowed);
  EXPECT_FALSE(limiter.check("k", p, kT0 + 12s, Mode::consume).allowed);
  // ...and the refused requests were never counted: the quota is whole again one interval
  // after the last allowed request's window.
  spend_burst(limiter, "k", p, kT0 + 72s);
}

TEST(GcraLimiter, RefusedRequestsBetweenIntervalsDoNotConsumeQuota) {
  GcraLimiter limiter;
  const Policy p = policy(4, 8);  // one every 2 s
  spend_burst(limiter, "k", p, kT0);
  int allowed = 0;
  for (auto now = kT0; now < kT0 + 20s; now += 100ms) {
    if (limiter.check("k", p, now, Mode::consume).allowed) ++allowed;
  }
  // About one every 2 s after the burst (a refusal closes the key for whole seconds, so a
  // client that comes back early drifts a little). Were refusals counted, none would pass.
  EXPECT_GE(allowed, 8);
  EXPECT_LE(allowed, 9);
}

TEST(GcraLimiter, PeekSpendsNothing) {
  GcraLimiter limiter;
  const Policy p = policy(3, 60);
  // An unknown key: allowed, the whole quota left, and no state kept for it.
  for (int i = 0; i < 10; ++i) {
    const Decision d = limiter.check("k", p, kT0, Mode::peek);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 3u);
    EXPECT_EQ(d.retry_after_seconds, 0u);
  }
  EXPECT_EQ(limiter.size(), 0u);
  // Peeks between spends change nothing: remaining is what is left now.
  for (std::uint64_t spent = 1; spent <= 3; ++spent) {
    const Decision d = limiter.check("k", p, kT0, Mode::consume);
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ(d.remaining, 3 - spent);
    for (int i = 0; i < 5; ++i) {
      const Decision look = limiter.check("k", p, kT0, Mode::peek);
      EXPECT_EQ(look.allowed, spent < 3) << spent;
      if (spent < 3) {
        EXPECT_EQ(look.remaining, 3 - spent);
      }
    }
  }
  // Spent out: a peek is refused with the same wait a spend would get.
  const Decision look = limiter.check("k", p, kT0, Mode::peek);
  EXPECT_FALSE(look.allowed);
  EXPECT_EQ(look.retry_after_seconds, 20u);
  const Decision spend = limiter.check("k", p, kT0, Mode::consume);
  EXPECT_FALSE(spend.allowed);
  EXPECT_EQ(spend.retry_after_seconds, 20u);
  // And after the refill, exactly one comes back however many peeks were made meanwhile.
  for (auto now = kT0; now < kT0 + 20s; now += 250ms) limiter.check("k", p, now, Mode::peek);
  EXPECT_TRUE(limiter.check("k", p, kT0 + 20s, Mode::consume).allowed);
  EXPECT_FALSE(limiter.check("k", p, kT0 + 20s, Mode::consume).allowed);
}

TEST(GcraLimiter, PeekAgreesWithConsume) {
  // At any instant, a peek says what a spend at that instant would be told.
  GcraLimiter limiter;
  const Policy p = policy(4, 10);  // one every 2.5 s
  int allowed = 0;
  for (auto now = kT0; now < kT0 + 60s; now += 700ms) {
    for (int burst = 0; burst < 3; ++burst) {
      const Decision look = limiter.check("k", p, now, Mode::peek);
      const Decision spend = limiter.check("k", p, now, Mode::consume);
      ASSERT_EQ(look.allowed, spend.allowed) << "at +" << (now - kT0) / 1ms << " ms";
      if (!spend.allowed) {
        ASSERT_EQ(look.retry_after_seconds, spend.retry_after_seconds) << "at +" << (now - kT0) / 1ms << " ms";
      } else {
        ASSERT_EQ(look.remaining, spend.remaining + 1) << "at +" << (now - kT0) / 1ms << " ms";
        ++allowed;
      }
    }
  }
  EXPECT_LE(allowed, 4 + 60 * 4 / 10);
}

TEST(GcraLimiter, CheckAllSpendsEveryBudgetOrNone) {
  // Two tokens of one organization: each request spends from its token's budget and the
  // organization's together, or from neither.
  GcraLimiter limiter;
  const Policy token = policy(5, 60);
  const Policy org = policy(3, 60, "organization");
  const std::vector<Budget> a = {{&token, "token:a"}, {&org, "organization:o"}};
  const std::vector<Budget> b = {{&token, "token:b"}, {&org, "organization:o"}};
  for (const auto& [budgets, token_left, org_left] :
       {std::tuple{&a, 4u, 2u}, std::tuple{&b, 4u, 1u}, std::tuple{&a, 3u, 0u}}) {
    const auto d = limiter.check_all(*budgets, kT0);
    ASSERT_EQ(d.size(), 2u);
    EXPECT_TRUE(d[0].allowed && d[1].allowed);
    EXPECT_EQ(d[0].remaining, token_left);
    EXPECT_EQ(d[1].remaining, org_left);
  }
  // The organization's budget is spent: refused by it, and the token's loses nothing (its
  // decision is what a peek says), while the organization's closes for its Retry-After.
  const auto refused = limiter.check_all(b, kT0);
  EXPECT_TRUE(refused[0].allowed);
  EXPECT_EQ(refused[0].remaining, 4u);
  EXPECT_FALSE(refused[1].allowed);
  EXPECT_EQ(refused[1].retry_after_seconds, 20u);
  EXPECT_EQ(limiter.check("token:b", token, kT0, Mode::peek).remaining, 4u);
  EXPECT_FALSE(limiter.check_all(a, kT0 + 20s - 1ns)[1].allowed);
  const auto reopened = limiter.check_all(b, kT0 + 20s);
  EXPECT_TRUE(reopened[0].allowed && reopened[1].allowed);
}

TEST(GcraLimiter, KeysAreIndependent) {
  GcraLimiter limiter;
  const Policy p = policy(3, 60);
  spend_burst(limiter, "token:a", p, kT0);
  EXPECT_FALSE(limiter.check("token:a", p, kT0, Mode::consume).allowed);
  spend_burst(limiter, "token:b", p, kT0);
  spend_burst(limiter, "token:c", p, kT0 + 1s);
  EXPECT_FALSE(limiter.check("token:a", p, kT0 + 1s, Mode::consume).allowed);
  // A key is the whole string, not a prefix of another.
  spend_burst(limiter, "token:", p, kT0);
  spend_burst(limiter, "token:aa", p, kT0);
  const Decision d = limiter.check("token:b", p, kT0, Mode::consume);
  EXPECT_FALSE(d.allowed);
}

TEST(GcraLimiter, ClockGoingBackwardsNeverGrantsMore) {
  const Policy p = policy(5, 60);
  {
    // A full burst, then readings from the past: refused, and told to wait.
    GcraLimiter limiter;
    spend_burst(limiter, "k", p, kT0);
    using std::chrono::nanoseconds;
    for (nanoseconds back :
         {nanoseconds(1ns), nanoseconds(1ms), nanoseconds(1s), nanoseconds(59s), nanoseconds(1h), nanoseconds(24h)}) {
      const Decision d = limiter.check("k", p, kT0 - back, Mode::consume);
      EXPECT_FALSE(d.allowed);
      EXPECT_GE(d.retry_after_seconds, 1u);
      EXPECT_EQ(d.remaining, 0u);
    }
  }
  {
    // Alternating between two readings an hour apart, the earlier after the later: never
    // more than the quota in total (the later reading's refill cannot be spent twice).
    GcraLimiter limiter;
    int allowed = 0;
    for (int i = 0; i < 100; ++i) {
      if (limiter.check("k", p, kT0 + 1h, Mode::consume).allowed) ++allowed;
      if (limiter.check("k", p, kT0, Mode::consume).allowed) ++allowed;
    }
    EXPECT_EQ(allowed, 5);
  }
  {
    // A key first seen at a later reading, then at earlier ones walking backwards.
    GcraLimiter limiter;
    int allowed = 0;
    for (int i = 0; i < 100; ++i) {
      const Decision d = limiter.check("k", p, kT0 - std::chrono::seconds(i), Mode::consume);
      if (d.allowed) ++allowed;
      EXPECT_LE(d.remaining, 4u);
    }
    EXPECT_LE(allowed, 5);
  }
  {
    // After going back, time moving forward again restores the quota from the latest
    // reading onward, not earlier.
    GcraLimiter limiter;
    spend_burst(limiter, "k", p, kT0);
    EXPECT_FALSE(limiter.check("k", p, kT0 - 30s, Mode::consume).allowed);
    EXPECT_FALSE(limiter.check("k", p, kT0 + 11s, Mode::consume).allowed);
    EXPECT_TRUE(limiter.check("k", p, kT0 + 12s, Mode::consume).allowed);
  }
}

TEST(GcraLimiter, DisabledPolicyAlwaysAllows) {
  GcraLimiter limiter;
  const Policy off = policy(0, 60);
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 10'000; ++i) {
    const Decision d = limiter.check("k", off, kT0, Mode::consume);
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ(d.retry_after_seconds, 0u);
  }
  const Policy no_window{"token", 5, std::chrono::seconds(0)};
  EXPECT_FALSE(no_window.enabled());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.check("k", no_window, kT0, Mode::consume).allowed);
  EXPECT_EQ(limiter.size(), 0u) << "a disabled policy should keep no state";
}

TEST(GcraLimiter, ResetSecondsIsSensible) {
  GcraLimiter limiter;
  const Policy p = policy(5, 60);
  // Unused: the first request's own interval.
  EXPECT_EQ(limiter.check("a", p, kT0, Mode::consume).reset_seconds, 12u);
  // Never more than the window, never zero while something is spent.
  for (int i = 0; i < 20; ++i) {
    const Decision d = limiter.check("b", p, kT0 + std::chrono::milliseconds(137 * i), Mode::consume);
    EXPECT_LE(d.reset_seconds, 60u);
    EXPECT_GE(d.reset_seconds, 1u);
  }
  // Counts down as time passes after a burst, in whole seconds rounded up.
  GcraLimiter c;
  spend_burst(c, "k", p, kT0);
  EXPECT_EQ(c.check("k", p, kT0, Mode::consume).reset_seconds, 60u);
  EXPECT_EQ(c.check("k", p, kT0 + 500ms, Mode::consume).reset_seconds, 60u);
  EXPECT_EQ(c.check("k", p, kT0 + 1s, Mode::consume).reset_seconds, 59u);
  EXPECT_EQ(c.check("k", p, kT0 + 10s, Mode::consume).reset_seconds, 50u);
  // 24 s after the burst: two back; spending one leaves 60 - 24 + 12 = 48 s to full.
  const Decision d = c.check("k", p, kT0 + 24s, Mode::consume);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset_seconds, 48u);
}

TEST(GcraLimiter, ConcurrentChecksOnOneKeyAllowExactlyTheQuota) {
  GcraLimiter limiter;
  const Policy p = policy(100, 60);
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.check("shared", p, kT0, Mode::consume).allowed) allowed.fetch_add(1);
        limiter.check(fmt::format("own-{}", i), p, kT0, Mode::consume);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
}

TEST(GcraLimiter, ManyKeysStayBoundedOnceExpired) {
  // 200,000 distinct keys, 10,000 an hour: keys whose state has run out are swept, so
  // memory follows the keys active now, not every key ever seen.
  GcraLimiter limiter;
  const Policy p = policy(1, 1);
  constexpr int kRounds = 20;
  constexpr int kPerRound = 10'000;
  for (int round = 0; round < kRounds; ++round) {
    const auto now = kT0 + std::chrono::hours(round);
    for (int i = 0; i < kPerRound; ++i) {
      std::string key = "ip:";
      key.append(std::to_string(round)).append(".").append(std::to_string(i));
      ASSERT_TRUE(limiter.check(key, p, now, Mode::consume).allowed);
    }
  }
  EXPECT_LE(limiter.size(), 32u * 1024u) << "expired keys are not swept";
  EXPECT_GE(limiter.size(), static_cast<std::size_t>(kPerRound)) << "live keys were dropped";

  // Keys of the latest round are still limited; swept ones behave as fresh.
  const auto last = kT0 + std::chrono::hours(kRounds - 1);
  for (int i = 0; i < 100; ++i) {
    std::string live = "ip:";
    live.append(std::to_string(kRounds - 1)).append(".").append(std::to_string(i));
    EXPECT_FALSE(limiter.check(live, p, last, Mode::consume).allowed) << live;
    std::string old = "ip:0.";
    old.append(std::to_string(i));
    EXPECT_TRUE(limiter.check(old, p, last, Mode::consume).allowed) << old;
  }
}

TEST(GcraLimiter, ManyLiveKeysAreAllKept) {
  // Sweeping never forgets a key that is still limited, however many there are.
  GcraLimiter limiter;
  const Policy p = policy(1, 3600);
  constexpr int kKeys = 50'000;
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(limiter.check(fmt::format("k{}", i), p, kT0, Mode::consume).allowed);
  EXPECT_EQ(limiter.size(), static_cast<std::size_t>(kKeys));
  for (int i = 0; i < kKeys; i += 97) {
    EXPECT_FALSE(limiter.check(fmt::format("k{}", i), p, kT0 + 1s, Mode::consume).allowed) << i;
  }
}

}  // namespace
