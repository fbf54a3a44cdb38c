#pragma once
// A read cache keyed by (organization, key), invalidated like the credential caches: any
// committed write to the organization bumps its generation (auth/generations.hpp), and every
// entry filled before that bump is filled again on its next read. It is therefore exact: an
// entry never answers with data older than the last write the server acknowledged.
//
// Bounded twice: by entries and by bytes per shard (`weigh` says what a value costs); a shard
// that would exceed either is simply emptied, which is cheap and keeps no LRU bookkeeping on
// the hot path.

#include "auth/generations.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ok::api {

// What a cache holds (for /metrics).
struct CacheUsage {
  std::size_t entries = 0;
  std::size_t bytes = 0;  // as weighed, keys included
};

template <typename V>
class GenerationCache {
 public:
  static constexpr std::size_t kShards = 16;
  // Produces the value on a miss; nullptr means "nothing to cache" (it is not remembered).
  using Load = std::function<std::shared_ptr<const V>()>;
  using Weigh = std::function<std::size_t(const V&)>;

  GenerationCache(auth::Generations& generations, std::size_t max_entries_per_shard, std::size_t max_bytes_per_shard,
                  Weigh weigh)
      : generations_(generations),
        max_entries_(max_entries_per_shard),
        max_bytes_(max_bytes_per_shard),
        weigh_(std::move(weigh)) {}

  // What the cache holds now, summed over its shards.
  CacheUsage usage() {
    CacheUsage total;
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mutex);
      total.entries += shard.entries.size();
      total.bytes += shard.bytes;
    }
    return total;
  }

  // The current value, or nullptr when there is none (nothing is loaded).
  std::shared_ptr<const V> find(const std::string& org_id, const std::string& key) {
    const std::string full_key = join(org_id, key);
    return find_in(shard_for(full_key), org_id, full_key);
  }

  // The current value, or load()'s (kept unless nullptr).
  std::shared_ptr<const V> get(const std::string& org_id, const std::string& key, const Load& load) {
    std::string full_key = join(org_id, key);
    Shard& shard = shard_for(full_key);
    if (auto found = find_in(shard, org_id, full_key)) return found;
    // Recorded before the read: a write that commits during load() invalidates the entry.
    const auto snapshot = generations_.snapshot();
    auto value = load();
    if (!value) return nullptr;
    const std::size_t weight = weigh_(*value) + full_key.size();
    if (weight > max_bytes_) return value;  // larger than a whole shard: served, not kept
    std::lock_guard lock(shard.mutex);
    if (auto old = shard.entries.find(full_key); old != shard.entries.end()) {
      shard.bytes -= old->second.weight;
      shard.entries.erase(old);
    }
    if (shard.entries.size() >= max_entries_ || shard.bytes + weight > max_bytes_) {
      shard.entries.clear();
      shard.bytes = 0;
    }
    shard.bytes += weight;
    shard.entries.insert_or_assign(std::move(full_key), Entry{value, snapshot, weight});
    return value;
  }

 private:
  struct Shard;
  static std::string join(const std::string& org_id, const std::string& key) {
    std::string full_key;
    full_key.reserve(org_id.size() + 1 + key.size());
    full_key.append(org_id).push_back('\n');
    full_key.append(key);
    return full_key;
  }
  Shard& shard_for(const std::string& full_key) { return shards_[std::hash<std::string>{}(full_key) % kShards]; }
  std::shared_ptr<const V> find_in(Shard& shard, const std::string& org_id, const std::string& full_key) {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.entries.find(full_key);
        it != shard.entries.end() && generations_.still_valid(org_id, it->second.snapshot)) {
      return it->second.value;
    }
    return nullptr;
  }

  struct Entry {
    std::shared_ptr<const V> value;
    std::uint64_t snapshot = 0;
    std::size_t weight = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
    std::size_t bytes = 0;
  };
  auth::Generations& generations_;
  const std::size_t max_entries_;
  const std::size_t max_bytes_;
  const Weigh weigh_;
  std::array<Shard, kShards> shards_;
};

}  // namespace ok::api
