#pragma once
// A read cache of single entities by (organization, id), with each entity's rendered JSON,
// so hot reads of one item touch neither the database nor the JSON serializer. Exact: see
// api/generation_cache.hpp.

#include "api/generation_cache.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

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

  explicit EntityCache(auth::Generations& generations)
      : cache_(generations, kMaxPerShard, kMaxBytesPerShard,
               [](const Item& item) { return sizeof(T) + 2 * item.json.size(); }) {}

  // The cached item, or load() + render() when absent or stale; nullptr when load() finds
  // nothing (misses are not cached).
  std::shared_ptr<const Item> get(const std::string& org_id, const std::string& id, const Load& load,
                                  const Render& render) {
    return cache_.get(org_id, id, [&]() -> std::shared_ptr<const Item> {
      auto entity = load();
      if (!entity) return nullptr;
      auto json = render(*entity);
      return std::make_shared<const Item>(Item{std::move(*entity), std::move(json)});
    });
  }

  CacheUsage usage() { return cache_.usage(); }

 private:
  static constexpr std::size_t kMaxPerShard = 1024;
  // An entity's strings are about twice its JSON; 16 shards of 2 MiB bound a cache at 32 MiB.
  static constexpr std::size_t kMaxBytesPerShard = std::size_t{2} << 20;
  GenerationCache<Item> cache_;
};

}  // namespace ok::api
