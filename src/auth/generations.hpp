#pragma once
// Invalidation for the caches of credentials and permissions, per organization.
//
// Every committed write to an organization bumps that organization's generation (the App
// does it after each successful mutating request, before answering). A cache entry records
// the global counter as it was *before* the database read that filled it; the entry is
// valid while its organization's generation has not moved past that snapshot. A write that
// commits while an entry is being filled therefore always invalidates it, so a revoked token
// or a removed role fails on the very next request. Organizations hash into a fixed table of
// buckets: a collision only costs an extra reload, never a stale answer.
//
// Several nodes on one database: another node's commits bump here when this node hears of
// them (store::ChangeListener). While the channel they come through is down, nothing is
// valid (distrust()); when it is back, everything filled before is stale (invalidate_all()).

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

namespace ok::auth {

class Generations {
 public:
  // The counter to record before reading the database for a cache entry.
  std::uint64_t snapshot() const { return global_.load(std::memory_order_acquire); }

  bool still_valid(std::string_view org_id, std::uint64_t snapshot) const {
    return trusted_.load(std::memory_order_acquire) && snapshot >= floor_.load(std::memory_order_acquire) &&
           bucket(org_id).load(std::memory_order_acquire) <= snapshot;
  }

  // Every entry filled before this call is stale.
  void invalidate_all() {
    floor_.store(global_.fetch_add(1, std::memory_order_acq_rel) + 1, std::memory_order_release);
  }
  void distrust() { trusted_.store(false, std::memory_order_release); }
  void trust() { trusted_.store(true, std::memory_order_release); }

  void bump(std::string_view org_id) {
    const auto g = global_.fetch_add(1, std::memory_order_acq_rel) + 1;
    auto& b = bucket(org_id);
    auto current = b.load(std::memory_order_relaxed);
    while (current < g && !b.compare_exchange_weak(current, g, std::memory_order_acq_rel)) {
    }
  }

 private:
  static constexpr std::size_t kBuckets = 1024;
  std::atomic<std::uint64_t>& bucket(std::string_view org) {
    return buckets_[std::hash<std::string_view>{}(org) % kBuckets];
  }
  const std::atomic<std::uint64_t>& bucket(std::string_view org) const {
    return buckets_[std::hash<std::string_view>{}(org) % kBuckets];
  }

  std::atomic<std::uint64_t> global_{1};
  std::atomic<std::uint64_t> floor_{0};
  std::atomic<bool> trusted_{true};
  std::array<std::atomic<std::uint64_t>, kBuckets> buckets_{};
};

}  // namespace ok::auth
