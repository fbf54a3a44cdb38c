#pragma once
// Turns an Authorization header into a Principal, or a 401.
//
// Lookups are cached by token hash so that a warm request does not touch the database.
// Correctness of the cache rests on a generation counter: every write that can invalidate a
// credential (revoking or deleting a token, deleting a user or system account) calls
// invalidate(), and an entry read before the latest invalidation is looked up again. So a
// revoked token fails on the very next request, cached or not.

#include "auth/principal.hpp"
#include "store/store.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace ok::auth {

class Authenticator {
 public:
  explicit Authenticator(store::Store& store) : store_(store) {}

  // Throws errors::ApiError 401 for a missing, malformed, unknown, expired or revoked token.
  Principal authenticate(std::optional<std::string_view> authorization_header, std::int64_t now_ms);

  // Call after any write that may revoke a credential.
  void invalidate() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  struct Entry {
    store::TokenLookup lookup;
    std::uint64_t generation = 0;
    std::int64_t last_touch_ms = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxEntriesPerShard = 4096;
  static constexpr std::int64_t kTouchIntervalMs = 60'000;

  Shard& shard_for(const std::string& hash) { return shards_[std::hash<std::string>{}(hash) % kShards]; }

  store::Store& store_;
  std::atomic<std::uint64_t> generation_{1};
  std::array<Shard, kShards> shards_;
};

}  // namespace ok::auth
