#pragma once
// Rate limiting. A Limiter answers "may `key` spend one more request under `policy` now?"
// and says how much is left and when to come back. The in-memory implementation
// (ratelimit/gcra_limiter.hpp) serves one node; a Redis one will serve several, and nothing
// outside this folder may depend on which runs.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ok::ratelimit {

struct Policy {
  std::string name;         // shown in RateLimit-Policy, e.g. "token"
  std::uint64_t quota = 0;  // requests per window; 0 disables the policy
  std::chrono::seconds window{60};

  bool enabled() const { return quota > 0 && window.count() > 0; }
};

struct Decision {
  bool allowed = true;
  std::uint64_t remaining = 0;            // requests still allowed right now
  std::uint64_t reset_seconds = 0;        // until the quota is whole again (RateLimit t=)
  std::uint64_t retry_after_seconds = 0;  // when !allowed: whole seconds to wait (>= 1)
};

using Clock = std::chrono::steady_clock;

// peek answers whether consume would allow the request, without spending anything (its
// `remaining` is what is left now): a request checked against two budgets spends neither
// when one of them refuses it.
enum class Mode { consume, peek };

// One of the budgets a single request spends from (its token's, its organization's).
struct Budget {
  const Policy* policy;
  std::string key;
};

class Limiter {
 public:
  virtual ~Limiter() = default;
  virtual Decision check(std::string_view key, const Policy& policy, Clock::time_point now, Mode mode) = 0;

  // Spends one request from every budget when all of them allow it; when one refuses, nothing
  // is spent from the others, and each refusing one is closed until its Retry-After as a
  // refused consume closes it. One decision per budget, in order: the spends' when all were
  // allowed, else the refusals and, for the others, what a peek says. Here: peeks, then spends
  // (another request may take the last unit in between, and then a spend refuses); a limiter
  // that can do it all in one step (RedisLimiter, in one round trip) does so.
  virtual std::vector<Decision> check_all(const std::vector<Budget>& budgets, Clock::time_point now);
};

}  // namespace ok::ratelimit
