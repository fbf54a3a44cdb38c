// RedisLimiter against a real Redis, named by OPENKONNECT_TEST_REDIS_URL (`bash scripts/redis.sh
// start DIR` starts a throwaway one and prints its URL):
// - GcraLimiter's arithmetic, through the Lua script, driven with explicit clock readings
//   (Options::caller_clock) as gcra_limiter_test.cpp drives GcraLimiter, and compared with it
//   decision by decision over random traffic, for single checks and for a request's budgets
//   together (check_all, one script);
// - on Redis's clock: two limiters (two nodes) share one budget whatever their own clocks say,
//   peeks spend nothing, Retry-After is exact, keys are hashed and expire;
// - the URL's forms, and the fallback: to local limits when Redis is unreachable or hangs
//   (counted, logged once, without the password), and back when a stopped Redis (a private one,
//   started and stopped through scripts/redis.sh) runs again.
// Every test uses keys of its own, so that ctest may run them in parallel on one Redis.

#include "ratelimit/redis_limiter.hpp"
#include "crypto/pem.hpp"
#include "ratelimit/gcra_limiter.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <boost/url/parse.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using ok::ratelimit::Budget;
using ok::ratelimit::Clock;
using ok::ratelimit::Decision;
using ok::ratelimit::GcraLimiter;
using ok::ratelimit::Mode;
using ok::ratelimit::Policy;
using ok::ratelimit::RedisLimiter;

#define REQUIRE_REDIS()                                                                                          \
  if (test_redis_url().empty()) {                                                                                \
    GTEST_SKIP() << "no Redis: run `bash scripts/redis.sh start /tmp/okredis` and set "                          \
                    "OPENKONNECT_TEST_REDIS_URL to the URL it prints (stop it with `bash scripts/redis.sh stop " \
                    "/tmp/okredis`)";                                                                            \
  }

std::string test_redis_url() {
  const char* url = std::getenv("OPENKONNECT_TEST_REDIS_URL");
  return url ? url : "";
}

// As in gcra_limiter_test.cpp: far from the clock's epoch, so tests can go back from it.
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(24 * 365);

Policy policy(std::uint64_t quota, std::int64_t window_seconds, std::string name = "token") {
  return Policy{std::move(name), quota, std::chrono::seconds(window_seconds)};
}

// Keys no other test (nor another run against the same Redis) uses.
std::string fresh_key(std::string_view prefix = "k") {
  static const std::uint64_t run = std::random_device{}() * 0x100000000ull + std::random_device{}();
  static std::atomic<int> n{0};
  return fmt::format("{}:{:x}-{}", prefix, run, n.fetch_add(1));
}

std::unique_ptr<RedisLimiter> node(const std::string& url, bool caller_clock = false,
                                   std::chrono::milliseconds retry_interval = 1000ms) {
  return std::make_unique<RedisLimiter>(
      RedisLimiter::Options{.url = url, .retry_interval = retry_interval, .caller_clock = caller_clock});
}

// A limiter whose script reads the caller's clock: GcraLimiter's tests, through Redis.
std::unique_ptr<RedisLimiter> scripted() { return node(test_redis_url(), true); }

void expect_same(const Decision& a, const Decision& b, const std::string& where) {
  EXPECT_EQ(a.allowed, b.allowed) << where;
  EXPECT_EQ(a.remaining, b.remaining) << where;
  EXPECT_EQ(a.reset_seconds, b.reset_seconds) << where;
  EXPECT_EQ(a.retry_after_seconds, b.retry_after_seconds) << where;
}

void spend_burst(RedisLimiter& limiter, const std::string& key, const Policy& p, Clock::time_point now) {
  for (std::uint64_t i = 1; i <= p.quota; ++i) {
    const Decision d = limiter.check(key, p, now, Mode::consume);
    ASSERT_TRUE(d.allowed) << "request " << i << " of the burst refused";
    ASSERT_EQ(d.remaining, p.quota - i) << "request " << i;
    ASSERT_EQ(d.retry_after_seconds, 0u);
  }
}

// A plain connection to the test's Redis, to look at what the limiter stored.
class RawRedis {
 public:
  explicit RawRedis(const std::string& url) {
    const auto u = boost::urls::parse_uri(url);
    if (!u) throw std::runtime_error("bad OPENKONNECT_TEST_REDIS_URL");
    context_ = redisConnect(std::string(u->host_address()).c_str(), u->has_port() ? u->port_number() : 6379);
    if (!context_ || context_->err) throw std::runtime_error("cannot connect to the test Redis");
    if (u->has_password()) command({"AUTH", std::string(u->password())});
    if (u->encoded_path().size() > 1) command({"SELECT", std::string(u->encoded_path().substr(1))});
  }
  ~RawRedis() { redisFree(context_); }
  RawRedis(const RawRedis&) = delete;
  RawRedis& operator=(const RawRedis&) = delete;

  // The reply as text: a string, an integer, the elements joined by spaces, or "ERR ...".
  std::string command(std::vector<std::string> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lengths.push_back(a.size());
    }
    auto* reply = static_cast<redisReply*>(
        redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data()));
    if (!reply) throw std::runtime_error("the test Redis went away");
    std::string out = text(reply);
    freeReplyObject(reply);
    return out;
  }

 private:
  static std::string text(const redisReply* r) {
    switch (r->type) {
      case REDIS_REPLY_INTEGER:
        return std::to_string(r->integer);
      case REDIS_REPLY_NIL:
        return "(nil)";
      case REDIS_REPLY_ARRAY: {
        std::string out;
        for (std::size_t i = 0; i < r->elements; ++i) out += (i ? " " : "") + text(r->element[i]);
        return out;
      }
      case REDIS_REPLY_ERROR:
        return "ERR " + std::string(r->str, r->len);
      default:
        return std::string(r->str, r->len);
    }
  }
  redisContext* context_ = nullptr;
};

// The name a budget's key has in Redis (redis_limiter.hpp): the policy, then a hash.
std::string stored_name(const Policy& p, const std::string& key) {
  return fmt::format("okrl:{}:{}", p.name, ok::crypto::sha256_hex(key).substr(0, 32));
}

// Every key matching `pattern` (SCAN: the test Redis may be shared by parallel tests).
std::vector<std::string> keys_matching(RawRedis& redis, const std::string& pattern) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    const auto reply = redis.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    const auto space = reply.find(' ');
    cursor = reply.substr(0, space);
    std::string rest = space == std::string::npos ? "" : reply.substr(space + 1);
    for (std::size_t at = 0; at < rest.size();) {
      const auto end = std::min(rest.find(' ', at), rest.size());
      keys.push_back(rest.substr(at, end - at));
      at = end + 1;
    }
  } while (cursor != "0");
  return keys;
}

// A port with nothing listening on it.
int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// A Redis of the test's own, through scripts/redis.sh, for stopping and starting it again.
class OwnRedis {
 public:
  OwnRedis() {
    char pattern[] = "/tmp/ok-redis-test-XXXXXX";
    if (!::mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    start();
  }
  ~OwnRedis() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  OwnRedis(const OwnRedis&) = delete;
  OwnRedis& operator=(const OwnRedis&) = delete;

  void start() {
    url_ = run("start");
    if (!url_.starts_with("redis://")) throw std::runtime_error("scripts/redis.sh start failed: " + url_);
  }
  void stop() { run("stop"); }
  const std::string& url() const { return url_; }

 private:
  std::string run(const char* command) {
    const auto line = fmt::format("bash {}/scripts/redis.sh {} {}", OPENKONNECT_SOURCE_DIR, command, dir_);
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(line.c_str(), "r"), ::pclose);
    std::string out;
    char buffer[256];
    while (pipe && std::fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
  std::string dir_;
  std::string url_;
};

// --- GcraLimiter's arithmetic, through the script ------------------------------------------

TEST(RedisLimiter, FreshKeyGetsWholeQuotaAsBurstWithExactCountdown) {
  REQUIRE_REDIS();
  auto limiter = scripted();
  const Policy p = policy(5, 60);
  const auto key = fresh_key();
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const Decision d = limiter->check(key, p, kT0, Mode::consume);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 5 - i);
    EXPECT_EQ(d.reset_seconds, 12 * i);
  }
  const Decision refused = limiter->check(key, p, kT0, Mode::consume);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.remaining, 0u);
  EXPECT_EQ(refused.retry_after_seconds, 12u);
  EXPECT_EQ(refused.reset_seconds, 60u);
  EXPECT_TRUE(limiter->shared());
  EXPECT_EQ(limiter->fallbacks(), 0u);
  EXPECT_EQ(limiter->local_checks(), 0u);
}

TEST(RedisLimiter, BurstCountdownForSeveralQuotas) {
  REQUIRE_REDIS();
  auto limiter = scripted();
  for (const auto& p : {policy(1, 60), policy(2, 4), policy(7, 60), policy(100, 1), policy(1000, 3600)}) {
    const auto key = fresh_key();
    spend_burst(*limiter, key, p, kT0);
    const Decision refused = limiter->check(key, p, kT0, Mode::consume);
    EXPECT_FALSE(refused.allowed) << p.quota << "/" << p.window.count();
    const auto interval_us = p.window.count() * 1'000'000 / static_cast<std::int64_t>(p.quota);
    const auto expected = std::max<std::int64_t>(1, (interval_us + 999'999) / 1'000'000);
    EXPECT_EQ(refused.retry_after_seconds, static_cast<std::uint64_t>(expected)) << p.quota << "/" << p.window.count();
  }
}

TEST(RedisLimiter, SteadyRateAfterBurstIsOnePerInterval) {
  REQUIRE_REDIS();
  auto limiter = scripted();
  const Policy p = policy(5, 60);
  const auto key = fresh_key();
  spend_burst(*limiter, key, p, kT0);
  for (int i = 1; i <= 20; ++i) {
    const auto at = kT0 + i * 12s;
    const Decision early = limiter->check(key, p, at - 1s, Mode::consume);
    EXPECT_FALSE(early.allowed) << "interval " << i;
    EXPECT_EQ(early.retry_after_seconds, 1u);
    const Decision d = limiter->check(key, p, at, Mode::consume);
    ASSERT_TRUE(d.allowed) << "interval " << i;
    EXPECT_EQ(d.remaining, 0u);
    EXPECT_EQ(d.reset_seconds, 60u);
  }
}

TEST(RedisLimiter, SteadyRateWithUnevenIntervalIsAlwaysAllowed) {
  // 7 per minute: 8.571428... s apart, not a whole number of microseconds either.
  REQUIRE_REDIS();
  auto limiter = scripted();
  const Policy p = policy(7, 60);
  const auto key = fresh_key();
  const auto interval = std::chrono::nanoseconds(60s) / 7 + 1ns;
  auto now = kT0;
  for (int i = 0; i < 300; ++i) {
    const Decision d = limiter->check(key, p, now, Mode::consume);
    ASSERT_TRUE(d.allowed) << "request " << i;
    ASSERT_EQ(d.remaining, 6u) << "request " << i;
    now += interval;
  }
}

TEST(RedisLimiter, RefillAfterWaiting) {
  REQUIRE_REDIS();
  auto limiter = scripted();
  const Policy p = policy(5, 60);
  const auto half = fresh_key();
  spend_burst(*limiter, half, p, kT0);
  EXPECT_FALSE(limiter->check(half, p, kT0 + 11s, Mode::consume).allowed);
  const auto other = fresh_key();
  spend_burst(*limiter, other, p, kT0);
  Decision d = limiter->check(other, p, kT0 + 30s, Mode::consume);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 1u);
  EXPECT_EQ(d.reset_seconds, 42u);
  EXPECT_TRUE(limiter->check(other, p, kT0 + 30s, Mode::consume).allowed);
  EXPECT_FALSE(limiter->check(other, p, kT0 + 30s, Mode::consume).allowed);
  // Waiting much longer than a window does not bank more than the quota.
  const auto idle = fresh_key();
  spend_burst(*limiter, idle, p, kT0);
  spend_burst(*limiter, idle, p, kT0 + 10h);
  EXPECT_FALSE(limiter->check(idle, p, kT0 + 10h, Mode::consume).allowed);
}

TEST(RedisLimiter, RetryAfterIsExactToTheMicrosecond) {
  // Redis keeps microseconds: a request one microsecond early is refused, one on time passes.
  REQUIRE_REDIS();
  auto limiter = scripted();
  for (const auto& p : {policy(5, 60), policy(2, 4), policy(7, 60), policy(3, 1), policy(1000, 1), policy(1, 3600)}) {
    SCOPED_TRACE(fmt::format("{}/{}", p.quota, p.window.count()));
    const auto key = fresh_key();
    spend_burst(*limiter, key, p, kT0);
    const auto refused_at = kT0 + std::chrono::floor<std::chrono::microseconds>(std::chrono::nanoseconds(p.window) /
                                                                                static_cast<std::int64_t>(p.quota) / 3);
    const Decision refused = limiter->check(key, p, refused_at, Mode::consume);
    ASSERT_FALSE(refused.allowed);
    ASSERT_GE(refused.retry_after_seconds, 1u);
    const auto retry_after = std::chrono::seconds(refused.retry_after_seconds);
    const Decision early = limiter->check(key, p, refused_at + retry_after - 1us, Mode::consume);
    EXPECT_FALSE(early.allowed);
    EXPECT_EQ(early.retry_after_seconds, 1u);
    const Decision midway = limiter->check(key, p, refused_at + retry_after / 2, Mode::consume);
    EXPECT_FALSE(midway.allowed);
    EXPECT_EQ(refused_at + retry_after / 2 + std::chrono::seconds(midway.retry_after_seconds),
              refused_at + retry_after);
    EXPECT_TRUE(limiter->check(key, p, refused_at + retry_after, Mode::consume).allowed);
  }
}

TEST(RedisLimiter, RefusedRequestsDoNotConsumeQuota) {
  REQUIRE_REDIS();
  auto limiter = scripted();
  const Policy p = policy(5, 60);
  const auto key = fresh_key();
  spend_burst(*limiter, key, p, kT0);
  ASSERT_EQ(limiter->check(key, p, kT0, Mode::consume).retry_after_seconds, 12u);
  for (auto now = kT0; now < kT0 + 12s; now += 100ms) {
    const Decision d = limiter->check(key, p, now, Mode::consume);
    ASSERT_FALSE(d.allowed);
    ASSERT_LE(now + std::chrono::seconds(d.retry_after_seconds), kT0 + 13s);
  }
  EXPECT_TRUE(limiter->check(key, p, kT0 + 12s, Mode::consume).allowed);
  EXPECT_FALSE(limiter->check(key, p, kT0 + 12s, Mode::consume).allowed);
  spend_burst(*limiter, key, p, kT0 + 72s);
}

TEST(RedisLimiter, PeekSpendsNothingAndKeepsNoState) {
  REQUIRE_REDIS();
  auto limiter = scripted();
  RawRedis redis(test_redis_url());
  const Policy p = policy(3, 60);
  const auto key = fresh_key();
  for (int i = 0; i < 10; ++i) {
    const Decision d = limiter->check(key, p, kT0, Mode::peek);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.remaining, 3u);
  }
  EXPECT_EQ(redis.command({"EXISTS", stored_name(p, key)}), "0") << "a peek at an unknown key stored state";
  for (std::uint64_t spent = 1; spent <= 3; ++spent) {
    ASSERT_EQ(limiter->check(key, p, kT0, Mode::consume).remaining, 3 - spent);
    for (int i = 0; i < 5; ++i) {
      const Decision look = limiter->check(key, p, kT0, Mode::peek);
      EXPECT_EQ(look.allowed, spent < 3) << spent;
      if (spent < 3) {
        EXPECT_EQ(look.remaining, 3 - spent);
      }
    }
  }
  EXPECT_EQ(limiter->check(key, p, kT0, Mode::peek).retry_after_seconds, 20u);
  EXPECT_EQ(limiter->check(key, p, kT0, Mode::consume).retry_after_seconds, 20u);
  for (auto now = kT0; now < kT0 + 20s; now += 250ms) limiter->check(key, p, now, Mode::peek);
  EXPECT_TRUE(limiter->check(key, p, kT0 + 20s, Mode::consume).allowed);
  EXPECT_FALSE(limiter->check(key, p, kT0 + 20s, Mode::consume).allowed);
}

TEST(RedisLimiter, ClockGoingBackwardsNeverGrantsMore) {
  REQUIRE_REDIS();
  auto limiter = scripted();
  const Policy p = policy(5, 60);
  const auto key = fresh_key();
  spend_burst(*limiter, key, p, kT0);
  for (const auto back : {std::chrono::nanoseconds(1us), std::chrono::nanoseconds(1s), std::chrono::nanoseconds(24h)}) {
    const Decision d = limiter->check(key, p, kT0 - back, Mode::consume);
    EXPECT_FALSE(d.allowed);
    EXPECT_GE(d.retry_after_seconds, 1u);
  }
  const auto alternating = fresh_key();
  int allowed = 0;
  for (int i = 0; i < 50; ++i) {
    if (limiter->check(alternating, p, kT0 + 1h, Mode::consume).allowed) ++allowed;
    if (limiter->check(alternating, p, kT0, Mode::consume).allowed) ++allowed;
  }
  EXPECT_EQ(allowed, 5);
}

TEST(RedisLimiter, DisabledPolicyAlwaysAllowsWithoutAsking) {
  // Not even a connection: a disabled budget is answered on the spot, also with Redis down.
  auto limiter = node(fmt::format("redis://127.0.0.1:{}", closed_port()));
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter->check("k", policy(0, 60), kT0, Mode::consume).allowed);
  EXPECT_EQ(limiter->local_checks(), 0u);
}

TEST(RedisLimiter, AgreesWithGcraLimiterDecisionByDecision) {
  // Random traffic on budgets whose interval is a whole number of microseconds (where the two
  // clocks' resolutions cannot differ), at millisecond readings that sometimes go backwards:
  // every answer is the same as the in-memory limiter's.
  REQUIRE_REDIS();
  auto limiter = scripted();
  std::mt19937_64 random(20261205);
  for (const auto& p : {policy(5, 60), policy(4, 10), policy(3, 1), policy(64, 1), policy(1, 2)}) {
    GcraLimiter reference;
    const auto key = fresh_key();
    auto now = kT0;
    for (int i = 0; i < 400; ++i) {
      const auto step = std::chrono::milliseconds(static_cast<int>(random() % 3000)) - 200ms;
      if (random() % 3 == 0) now += step;
      const Mode mode = random() % 4 == 0 ? Mode::peek : Mode::consume;
      expect_same(limiter->check(key, p, now, mode), reference.check(key, p, now, mode),
                  fmt::format("{}/{} request {} at +{} ms ({})", p.quota, p.window.count(), i, (now - kT0) / 1ms,
                              mode == Mode::peek ? "peek" : "consume"));
    }
  }
}

TEST(RedisLimiter, CheckAllAgreesWithGcraLimiterDecisionByDecision) {
  // A request's budgets in one script: random traffic from three tokens of one organization,
  // answered exactly as the in-memory limiter's peeks and spends answer it.
  REQUIRE_REDIS();
  auto limiter = scripted();
  GcraLimiter reference;
  std::mt19937_64 random(14);
  const Policy token = policy(4, 10);
  const Policy org = policy(6, 6, "organization");
  const auto org_key = fresh_key("organization");
  std::vector<std::vector<Budget>> requests;
  for (int t = 0; t < 3; ++t) requests.push_back({{&token, fresh_key("token")}, {&org, org_key}});
  auto now = kT0;
  int refused = 0;
  for (int i = 0; i < 600; ++i) {
    if (random() % 2 == 0) now += std::chrono::milliseconds(static_cast<int>(random() % 1500));
    const auto& budgets = requests[random() % requests.size()];
    const auto got = limiter->check_all(budgets, now);
    const auto expected = reference.check_all(budgets, now);
    ASSERT_EQ(got.size(), 2u);
    for (std::size_t j = 0; j < 2; ++j) {
      expect_same(got[j], expected[j], fmt::format("request {} budget {} at +{} ms", i, j, (now - kT0) / 1ms));
    }
    if (!got[0].allowed || !got[1].allowed) ++refused;
  }
  EXPECT_GT(refused, 50) << "the traffic should hit both budgets' limits";
}

// --- on Redis's clock, as nodes use it --------------------------------------------------------

TEST(RedisLimiter, TwoNodesShareOneBudget) {
  REQUIRE_REDIS();
  auto a = node(test_redis_url());
  auto b = node(test_redis_url());
  const Policy p = policy(5, 60);
  const auto key = fresh_key("token");
  // The nodes' own readings are far apart and ignored: the time is Redis's.
  const auto a_now = Clock::now();
  const auto b_now = a_now + 10h;
  for (std::uint64_t i = 1; i <= 5; ++i) {
    auto& limiter = i % 2 ? *a : *b;
    const Decision d = limiter.check(key, p, i % 2 ? a_now : b_now, Mode::consume);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 5 - i) << "the countdown spans both nodes";
  }
  for (auto* limiter : {a.get(), b.get()}) {
    const Decision refused = limiter->check(key, p, b_now, Mode::consume);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after_seconds, 12u);
    EXPECT_EQ(refused.reset_seconds, 60u);
  }
  EXPECT_TRUE(a->shared() && b->shared());
}

TEST(RedisLimiter, CheckAllIsOneBudgetAcrossNodes) {
  // Two tokens of one organization, on two nodes: the organization's 3 go, whichever node and
  // token; then a refused request spends nothing of its token's budget.
  REQUIRE_REDIS();
  auto a = node(test_redis_url());
  auto b = node(test_redis_url());
  const Policy token = policy(5, 60);
  const Policy org = policy(3, 60, "organization");
  const auto org_key = fresh_key("organization");
  const std::vector<Budget> one = {{&token, fresh_key("token")}, {&org, org_key}};
  const std::vector<Budget> two = {{&token, fresh_key("token")}, {&org, org_key}};
  EXPECT_EQ(a->check_all(one, Clock::now())[1].remaining, 2u);
  EXPECT_EQ(b->check_all(two, Clock::now())[1].remaining, 1u);
  const auto last = b->check_all(one, Clock::now());
  EXPECT_EQ(last[0].remaining, 3u);
  EXPECT_EQ(last[1].remaining, 0u);
  const auto refused = a->check_all(two, Clock::now());
  EXPECT_TRUE(refused[0].allowed);
  EXPECT_EQ(refused[0].remaining, 4u);
  EXPECT_FALSE(refused[1].allowed);
  EXPECT_EQ(refused[1].retry_after_seconds, 20u);
  EXPECT_EQ(b->check(two[0].key, token, Clock::now(), Mode::peek).remaining, 4u);
}

TEST(RedisLimiter, ConcurrentNodesAllowExactlyTheQuota) {
  REQUIRE_REDIS();
  auto a = node(test_redis_url());
  auto b = node(test_redis_url());
  const Policy p = policy(100, 3600);
  const auto key = fresh_key();
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto& limiter = t % 2 ? *a : *b;
      for (int i = 0; i < 60; ++i) {
        if (limiter.check(key, p, Clock::now(), Mode::consume).allowed) allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 100);
  EXPECT_EQ(a->local_checks() + b->local_checks(), 0u);
}

TEST(RedisLimiter, PeeksOnOneNodeSpendNothingOfTheOther) {
  REQUIRE_REDIS();
  auto a = node(test_redis_url());
  auto b = node(test_redis_url());
  const Policy p = policy(3, 60);
  const auto key = fresh_key();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(a->check(key, p, Clock::now(), Mode::peek).remaining, 3u);
  spend_burst(*b, key, p, Clock::now());
  const Decision look = a->check(key, p, Clock::now(), Mode::peek);
  EXPECT_FALSE(look.allowed);
  EXPECT_EQ(look.retry_after_seconds, 20u);
}

TEST(RedisLimiter, RetryAfterIsExactOnRedisClock) {
  // 1 request a second: refused right after the first, told to wait 1 s; still refused a
  // little before that second has passed, allowed just after.
  REQUIRE_REDIS();
  auto limiter = node(test_redis_url());
  const Policy p = policy(1, 1);
  const auto key = fresh_key();
  ASSERT_TRUE(limiter->check(key, p, Clock::now(), Mode::consume).allowed);
  const Decision refused = limiter->check(key, p, Clock::now(), Mode::consume);
  const auto answered = std::chrono::steady_clock::now();
  ASSERT_FALSE(refused.allowed);
  ASSERT_EQ(refused.retry_after_seconds, 1u);
  std::this_thread::sleep_until(answered + 700ms);
  const Decision early = limiter->check(key, p, Clock::now(), Mode::consume);
  EXPECT_FALSE(early.allowed);
  EXPECT_EQ(early.retry_after_seconds, 1u);
  std::this_thread::sleep_until(answered + 1s + 20ms);
  EXPECT_TRUE(limiter->check(key, p, Clock::now(), Mode::consume).allowed);
}

TEST(RedisLimiter, KeysAreHashedPrefixedAndExpire) {
  REQUIRE_REDIS();
  auto limiter = node(test_redis_url());
  RawRedis redis(test_redis_url());
  const Policy p = policy(5, 60);
  const auto secret = fresh_key("token-id-in-clear");
  limiter->check(secret, p, Clock::now(), Mode::consume);
  const auto name = stored_name(p, secret);
  ASSERT_EQ(redis.command({"EXISTS", name}), "1") << name;
  EXPECT_TRUE(keys_matching(redis, "*token-id-in-clear*").empty());
  // One spent request matters for one interval (12 s), not longer.
  const auto ttl = std::stoll(redis.command({"PTTL", name}));
  EXPECT_GT(ttl, 11'000);
  EXPECT_LE(ttl, 12'000);
  // A refused request keeps the key until the refusal's end, which may lie beyond the TAT.
  const Policy one = policy(1, 1);
  const auto key = fresh_key();
  limiter->check(key, one, Clock::now(), Mode::consume);
  ASSERT_FALSE(limiter->check(key, one, Clock::now(), Mode::consume).allowed);
  EXPECT_GT(std::stoll(redis.command({"PTTL", stored_name(one, key)})), 900);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(redis.command({"EXISTS", stored_name(one, key)}), "0") << "an expired budget is still held";
}

TEST(RedisLimiter, ScriptCacheFlushedIsReloaded) {
  REQUIRE_REDIS();
  auto limiter = node(test_redis_url());
  RawRedis redis(test_redis_url());
  const Policy p = policy(5, 60);
  const auto key = fresh_key();
  ASSERT_EQ(limiter->check(key, p, Clock::now(), Mode::consume).remaining, 4u);
  ASSERT_EQ(redis.command({"SCRIPT", "FLUSH"}), "OK");
  EXPECT_EQ(limiter->check(key, p, Clock::now(), Mode::consume).remaining, 3u);
  EXPECT_EQ(limiter->check(key, p, Clock::now(), Mode::consume).remaining, 2u);
  EXPECT_TRUE(limiter->shared());
  EXPECT_EQ(limiter->fallbacks(), 0u);
}

// --- URLs, fallback and recovery ----------------------------------------------------------------

TEST(RedisLimiter, UrlForms) {
  for (const char* bad : {"", "http://127.0.0.1:6379", "redis://", "redis://127.0.0.1:0", "redis://h/abc",
                          "redis://h/1/2", "redis://:pw@h/1?x=1", "rediss://h", "127.0.0.1:6379"}) {
    try {
      RedisLimiter limiter(RedisLimiter::Options{.url = bad});
      ADD_FAILURE() << bad << " accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).find("pw"), std::string::npos) << e.what();
    }
  }
  const int port = closed_port();
  testing::internal::CaptureStderr();
  RedisLimiter with_password(RedisLimiter::Options{.url = fmt::format("redis://:s3cret-pw@127.0.0.1:{}/2", port)});
  RedisLimiter with_user(RedisLimiter::Options{.url = fmt::format("redis://me:s3cret-pw@localhost:{}", port)});
  const std::string logged = testing::internal::GetCapturedStderr();
  EXPECT_EQ(with_password.address(), fmt::format("redis://127.0.0.1:{}/2", port));
  EXPECT_EQ(with_user.address(), fmt::format("redis://localhost:{}/0", port));
  EXPECT_NE(logged.find(with_password.address()), std::string::npos) << logged;
  EXPECT_EQ(logged.find("s3cret"), std::string::npos) << "the password was logged: " << logged;
  EXPECT_EQ(RedisLimiter(RedisLimiter::Options{.url = "redis://[::1]:1"}).address(), "redis://[::1]:1/0");
}

TEST(RedisLimiter, FallsBackToLocalLimitsWhenRedisIsUnreachable) {
  testing::internal::CaptureStderr();
  auto limiter = node(fmt::format("redis://127.0.0.1:{}", closed_port()));
  EXPECT_FALSE(limiter->shared());
  EXPECT_EQ(limiter->fallbacks(), 1u);
  // Decisions still come, from the node's own GcraLimiter, with the same arithmetic.
  const Policy p = policy(5, 60);
  const auto started = std::chrono::steady_clock::now();
  for (std::uint64_t i = 1; i <= 5; ++i) {
    const Decision d = limiter->check("k", p, kT0, Mode::consume);
    ASSERT_TRUE(d.allowed);
    ASSERT_EQ(d.remaining, 5 - i);
  }
  EXPECT_EQ(limiter->check("k", p, kT0, Mode::consume).retry_after_seconds, 12u);
  for (int i = 0; i < 2000; ++i) limiter->check(fresh_key(), p, kT0, Mode::consume);
  const auto both = limiter->check_all({{&p, "k"}, {&p, "other"}}, kT0);
  EXPECT_FALSE(both[0].allowed);
  EXPECT_EQ(both[1].remaining, 5u);
  // Not one connection attempt per request: at most one a second.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(limiter->local_checks(), 2008u);
  EXPECT_EQ(limiter->fallbacks(), 1u) << "one outage, counted once";
  const std::string logged = testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged.find("unavailable"), logged.rfind("unavailable")) << "logged more than once: " << logged;
  EXPECT_NE(logged.find("unavailable"), std::string::npos) << logged;
  const auto metrics = limiter->render_metrics();
  EXPECT_NE(metrics.find("\nopenkonnect_rate_limit_redis_up 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nopenkonnect_rate_limit_redis_fallbacks_total 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\nopenkonnect_rate_limit_local_checks_total 2008\n"), std::string::npos) << metrics;
}

TEST(RedisLimiter, HangingRedisCostsAtMostTheTimeout) {
  // A listener that accepts connections and never answers: checks go local after 100 ms.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t length = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  const auto started = std::chrono::steady_clock::now();
  auto limiter = node(fmt::format("redis://127.0.0.1:{}", ntohs(addr.sin_port)), false, 200ms);
  EXPECT_FALSE(limiter->shared());
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 500ms);
  // The retry after 200 ms hangs once more (one request pays it); the others do not wait.
  std::this_thread::sleep_for(250ms);
  const auto retry_started = std::chrono::steady_clock::now();
  EXPECT_TRUE(limiter->check("k", policy(5, 60), kT0, Mode::consume).allowed);
  EXPECT_LT(std::chrono::steady_clock::now() - retry_started, 500ms);
  const auto after = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) limiter->check("k", policy(1000, 60), kT0, Mode::consume);
  EXPECT_LT(std::chrono::steady_clock::now() - after, 90ms);
  EXPECT_EQ(limiter->fallbacks(), 1u);
  ::close(fd);
}

TEST(RedisLimiter, SharedAgainWhenRedisComesBack) {
  REQUIRE_REDIS();
  OwnRedis redis;
  auto a = node(redis.url(), false, 200ms);
  auto b = node(redis.url(), false, 200ms);
  const Policy p = policy(3, 60);
  const auto shared_key = fresh_key();
  ASSERT_EQ(a->check(shared_key, p, Clock::now(), Mode::consume).remaining, 2u);
  ASSERT_EQ(b->check(shared_key, p, Clock::now(), Mode::consume).remaining, 1u);

  redis.stop();
  // Each node goes on alone, from a budget of its own (the shared state is out of reach).
  const auto key = fresh_key();
  const auto now = Clock::now();
  for (auto* limiter : {a.get(), b.get()}) {
    for (std::uint64_t i = 1; i <= 3; ++i) ASSERT_EQ(limiter->check(key, p, now, Mode::consume).remaining, 3 - i);
    EXPECT_FALSE(limiter->check(key, p, now, Mode::consume).allowed);
    EXPECT_FALSE(limiter->shared());
    EXPECT_EQ(limiter->fallbacks(), 1u);
  }

  redis.start();  // the same port (scripts/redis.sh reuses its directory's)
  std::this_thread::sleep_for(250ms);
  const auto again = fresh_key();
  ASSERT_EQ(a->check(again, p, Clock::now(), Mode::consume).remaining, 2u);
  ASSERT_EQ(b->check(again, p, Clock::now(), Mode::consume).remaining, 1u);
  EXPECT_TRUE(a->shared() && b->shared());
  EXPECT_EQ(a->fallbacks(), 1u);

  // Stopped and started again: the stale connections are dropped, not fatal (no SIGPIPE).
  redis.stop();
  redis.start();
  for (int i = 0; i < 3; ++i) a->check(fresh_key(), p, Clock::now(), Mode::consume);
  std::this_thread::sleep_for(250ms);
  ASSERT_EQ(a->check(fresh_key(), p, Clock::now(), Mode::consume).remaining, 2u);
  EXPECT_TRUE(a->shared());
  EXPECT_EQ(a->fallbacks(), 2u);
}

TEST(RedisLimiter, PasswordAndDatabase) {
  REQUIRE_REDIS();
  OwnRedis redis;
  RawRedis raw(redis.url());
  ASSERT_EQ(raw.command({"CONFIG", "SET", "requirepass", "pa:ss@word"}), "OK");
  const auto port = redis.url().substr(redis.url().rfind(':') + 1);
  auto good = node(fmt::format("redis://:pa%3Ass%40word@127.0.0.1:{}/3", port));
  auto wrong = node(fmt::format("redis://:nope@127.0.0.1:{}/3", port));
  auto none = node(fmt::format("redis://127.0.0.1:{}/3", port));
  EXPECT_TRUE(good->shared());
  EXPECT_FALSE(wrong->shared());
  EXPECT_FALSE(none->shared());
  const Policy p = policy(5, 60);
  const auto key = fresh_key();
  EXPECT_EQ(good->check(key, p, Clock::now(), Mode::consume).remaining, 4u);
  EXPECT_EQ(raw.command({"AUTH", "pa:ss@word"}), "OK");
  EXPECT_EQ(raw.command({"SELECT", "3"}), "OK");
  EXPECT_EQ(raw.command({"EXISTS", stored_name(p, key)}), "1") << "not in database 3";
}

}  // namespace
