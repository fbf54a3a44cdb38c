#pragma once
// In-memory rate limiter using the generic cell rate algorithm (GCRA): one timestamp per
// key (the theoretical arrival time), so memory is O(1) per key and the rate is smooth:
// a full quota may be spent at once, then one request per window/quota. Over any interval
// of length L at most quota + L / (window/quota) requests pass; unlike fixed windows, no
// boundary lets a second full quota through right after the first.
//
// Retry-After is exact: when a request is refused, the key is closed until a whole number
// of seconds later, so a client that waits exactly Retry-After seconds gets through and one
// that comes back sooner does not. Keys are spread over independently locked shards, so no
// lock is shared by all requests.

#include "ratelimit/limiter.hpp"

#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ok::ratelimit {

class GcraLimiter final : public Limiter {
 public:
  Decision check(std::string_view key, const Policy& policy, Clock::time_point now, Mode mode) override;

  std::size_t size();  // keys held (for tests)

 private:
  struct State {
    Clock::time_point tat;             // theoretical arrival time of the next request
    Clock::time_point blocked_until;   // refused until then (set when a request is refused)
  };
  struct KeyHash {
    using is_transparent = void;  // look up by string_view without building a string
    std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, State, KeyHash, std::equal_to<>> states;
    std::size_t sweep_at = 1024;
  };
  static constexpr std::size_t kShards = 32;

  std::array<Shard, kShards> shards_;
};

}  // namespace ok::ratelimit
