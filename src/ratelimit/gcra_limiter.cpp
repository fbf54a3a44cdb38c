#include "ratelimit/gcra_limiter.hpp"

#include <algorithm>
#include <functional>

namespace ok::ratelimit {
namespace {

using Nanos = std::chrono::nanoseconds;

std::uint64_t ceil_seconds(Nanos d) {
  if (d.count() <= 0) return 0;
  return static_cast<std::uint64_t>((d.count() + 999'999'999) / 1'000'000'000);
}

}  // namespace

Decision GcraLimiter::check(std::string_view key, const Policy& policy, Clock::time_point now, Mode mode) {
  Decision d;
  if (!policy.enabled()) {
    d.remaining = policy.quota;
    return d;
  }
  const Nanos window = policy.window;
  const Nanos interval = window / static_cast<std::int64_t>(policy.quota);

  Shard& shard = shards_[std::hash<std::string_view>{}(key) % kShards];
  std::lock_guard lock(shard.mutex);

  if (shard.states.size() >= shard.sweep_at) {
    // A key whose arrival time has passed is indistinguishable from a fresh one: drop it.
    std::erase_if(shard.states, [&](const auto& entry) {
      return entry.second.tat <= now && entry.second.blocked_until <= now;
    });
    shard.sweep_at = std::max<std::size_t>(1024, shard.states.size() * 2);
  }

  State fresh{now, now};
  State* existing = nullptr;
  if (auto it = shard.states.find(key); it != shard.states.end()) existing = &it->second;
  if (!existing && mode == Mode::consume) existing = &shard.states.try_emplace(std::string(key), fresh).first->second;
  State& s = existing ? *existing : fresh;  // a peek at an unknown key changes nothing

  if (now < s.blocked_until) {
    d.allowed = false;
    d.retry_after_seconds = std::max<std::uint64_t>(1, ceil_seconds(s.blocked_until - now));
    d.reset_seconds = ceil_seconds(std::max(s.tat, now) - now);
    return d;
  }

  // A clock reading earlier than the stored state (it cannot happen with steady_clock, but
  // the arithmetic must not reward it) only makes the key look busier.
  const auto tat = std::max(s.tat, now);
  const auto new_tat = tat + interval;
  const auto allow_at = new_tat - window;
  if (now < allow_at) {
    const auto wait = ceil_seconds(allow_at - now);
    d.allowed = false;
    d.retry_after_seconds = std::max<std::uint64_t>(1, wait);
    if (mode == Mode::consume) s.blocked_until = now + std::chrono::seconds(d.retry_after_seconds);
    d.reset_seconds = ceil_seconds(tat - now);
    return d;
  }
  if (mode == Mode::consume) s.tat = new_tat;
  // How much of the window is spoken for: after this request when it is spent; as things
  // stand when only peeking (nothing was spent, so nothing is gone).
  const auto used = (mode == Mode::consume ? new_tat : tat) - now;
  d.remaining = static_cast<std::uint64_t>((window - used) / interval);
  d.reset_seconds = ceil_seconds(used);
  return d;
}

std::size_t GcraLimiter::size() {
  std::size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.states.size();
  }
  return n;
}

}  // namespace ok::ratelimit
