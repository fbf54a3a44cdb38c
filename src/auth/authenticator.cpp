#include "auth/authenticator.hpp"

#include "auth/token.hpp"
#include "errors/api_error.hpp"
#include "observability/log.hpp"

namespace ok::auth {

Principal Authenticator::authenticate(std::optional<std::string_view> header, std::int64_t now_ms) {
  if (!header) throw errors::ApiError::unauthenticated();
  const auto token = bearer_token(*header);
  if (!token || token->empty()) throw errors::ApiError::unauthenticated();
  if (!token_kind(*token)) throw errors::ApiError::invalid_credentials();

  const std::string hash = hash_token(*token);
  const std::uint64_t generation = generation_.load(std::memory_order_acquire);
  Shard& shard = shard_for(hash);

  std::optional<Entry> cached;
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.entries.find(hash); it != shard.entries.end() && it->second.generation == generation) {
      cached = it->second;
    }
  }
  if (!cached) {
    auto found = store_.find_token_by_hash(hash);
    if (!found) throw errors::ApiError::invalid_credentials();
    cached = Entry{std::move(*found), generation, found->token.last_used_at.value_or(0)};
    std::lock_guard lock(shard.mutex);
    if (shard.entries.size() >= kMaxEntriesPerShard) shard.entries.clear();
    shard.entries[hash] = *cached;
  }

  const auto& t = cached->lookup.token;
  if (!hashes_equal(t.token_hash, hash) || !cached->lookup.owner_exists || t.revoked_at ||
      (t.expires_at != 0 && t.expires_at <= now_ms)) {
    throw errors::ApiError::invalid_credentials();
  }

  if (now_ms - cached->last_touch_ms >= kTouchIntervalMs) {
    {
      std::lock_guard lock(shard.mutex);
      if (auto it = shard.entries.find(hash); it != shard.entries.end()) it->second.last_touch_ms = now_ms;
    }
    try {
      store_.touch_token(t.id, now_ms);
    } catch (const std::exception& e) {
      // Bookkeeping only: a read-only or busy database must not fail the request itself.
      observability::log_event(observability::Level::warn, "could not record token use", 0, e.what());
    }
  }
  return Principal{store::OrgId(t.org_id), t.owner_kind, t.owner_id, t.id};
}

}  // namespace ok::auth
