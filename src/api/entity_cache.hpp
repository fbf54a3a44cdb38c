#pragma once
// A read cache of single entities by (organization, id), invalidated like the credential
// caches: any committed write to the organization bumps its generation (auth/generations.hpp)
// and every entry read before that is read again. Hot reads of one item then touch neither
// the database nor the JSON serializer. Bounded: a full shard is simply emptied.

#include "auth/generations.hpp"

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace ok::api {

template <typename T>
class EntityCache {
 public:
  struct Item {
    T entity;
    std::string json;  // the entity's serialized representation
  };
  using Load = std::function<std::optional<T>()>;
  using Render = std::function<std::string(const T&)>;

  explicit EntityCache(auth::Generations& generations) : generations_(generations) {}

  // The cached item, or load() + render() when absent or stale; nullptr when load() finds
  // nothing (misses are not cached).
  std::shared_ptr<const Item> get(const std::string& org_id, const std::string& id, const Load& load,
                                  const Render& render) {
    const std::string key = org_id + '/' + id;
    Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
    {
      std::lock_guard lock(shard.mutex);
      if (auto it = shard.items.find(key);
          it != shard.items.end() && generations_.still_valid(org_id, it->second.snapshot)) {
        return it->second.item;
      }
    }
    const auto snapshot = generations_.snapshot();
    auto entity = load();
    if (!entity) return nullptr;
    auto json = render(*entity);
    auto item = std::make_shared<const Item>(Item{std::move(*entity), std::move(json)});
    std::lock_guard lock(shard.mutex);
    if (shard.items.size() >= kMaxPerShard) shard.items.clear();
    shard.items[key] = Entry{item, snapshot};
    return item;
  }

 private:
  struct Entry {
    std::shared_ptr<const Item> item;
    std::uint64_t snapshot = 0;
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> items;
  };
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxPerShard = 1024;

  auth::Generations& generations_;
  std::array<Shard, kShards> shards_;
};

}  // namespace ok::api
