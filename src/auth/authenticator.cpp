#include "auth/authenticator.hpp"

#include "auth/token.hpp"
#include "errors/api_error.hpp"

namespace ok::auth {

namespace {
const errors::ApiError& unauthenticated() {
  static const errors::ApiError error = errors::ApiError::unauthenticated();
  return error;
}
const errors::ApiError& invalid_credentials() {
  static const errors::ApiError error = errors::ApiError::invalid_credentials();
  return error;
}
}  // namespace

Principal Authenticator::authenticate(std::optional<std::string_view> header, std::int64_t now_ms) {
  Principal principal;
  if (const auto* failure = check(header, now_ms, principal)) throw *failure;
  return principal;
}

const errors::ApiError* Authenticator::check(std::optional<std::string_view> header, std::int64_t now_ms,
                                             Principal& principal, AuthFailure* why) {
  AuthFailure ignored;
  if (!why) why = &ignored;
  if (!header) return &unauthenticated();
  const auto token = bearer_token(*header);
  if (!token || token->empty()) return &unauthenticated();
  const auto kind = token_kind(*token);
  if (!kind) return &invalid_credentials();
  why->type = *kind == TokenKind::personal ? "PAT" : "SPAT";
  why->outcome = "NOT_FOUND";

  const std::string hash = hash_token(*token);
  Shard& shard = shard_for(hash);

  std::shared_ptr<Entry> cached;
  {
    std::lock_guard lock(shard.mutex);
    if (shard.unknown.contains(hash)) return &invalid_credentials();
    if (auto it = shard.entries.find(hash);
        it != shard.entries.end() && generations_.still_valid(it->second->lookup.token.org_id, it->second->snapshot)) {
      cached = it->second;
    }
  }
  if (!cached) {
    // A made-up token is refused from memory whenever the index can vouch for it.
    if (token_index_.definitely_unknown(hash)) return &invalid_credentials();
    const auto snapshot = generations_.snapshot();
    auto found = store_.find_token_by_hash(hash);
    if (!found) {
      std::lock_guard lock(shard.mutex);
      if (shard.unknown.size() >= kMaxEntriesPerShard) shard.unknown.clear();
      shard.unknown.insert(hash);
      return &invalid_credentials();
    }
    const auto last_used = found->token.last_used_at.value_or(0);
    cached = std::make_shared<Entry>(std::move(*found), snapshot, last_used);
    std::lock_guard lock(shard.mutex);
    if (shard.entries.size() >= kMaxEntriesPerShard) shard.entries.clear();
    shard.entries[hash] = cached;
  }

  const auto& t = cached->lookup.token;
  if (!hashes_equal(t.token_hash, hash)) return &invalid_credentials();
  if (!cached->lookup.owner_exists || t.revoked_at || (t.expires_at != 0 && t.expires_at <= now_ms)) {
    why->outcome = cached->lookup.owner_exists && !t.revoked_at ? "TOKEN_EXPIRED" : "DISABLED";
    why->org_id = t.org_id;
    why->token_id = t.id;
    why->principal_id = t.owner_id;
    why->principal_kind = t.owner_kind == store::PrincipalKind::user ? "user" : "system_account";
    return &invalid_credentials();
  }

  // last_used_at is bookkeeping: written at most once a minute per token, without waiting.
  auto last_touch = cached->last_touch_ms.load(std::memory_order_relaxed);
  if (now_ms - last_touch >= kTouchIntervalMs &&
      cached->last_touch_ms.compare_exchange_strong(last_touch, now_ms, std::memory_order_relaxed)) {
    store_.touch_token(t.id, now_ms);
  }
  principal = Principal{store::OrgId(t.org_id), t.owner_kind, t.owner_id, t.id};
  return nullptr;
}

std::shared_ptr<const std::vector<store::RoleAssignment>> Authenticator::roles(const Principal& principal) {
  const std::string key = principal.kind_name() + ":" + principal.id;
  auto& shard = role_shards_[std::hash<std::string>{}(key) % kShards];
  {
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.entries.find(key);
        it != shard.entries.end() && generations_.still_valid(principal.org.str(), it->second.snapshot)) {
      return it->second.roles;
    }
  }
  const auto snapshot = generations_.snapshot();
  auto roles = std::make_shared<const std::vector<store::RoleAssignment>>(
      store_.effective_roles(principal.org, principal.kind_name(), principal.id));
  std::lock_guard lock(shard.mutex);
  if (shard.entries.size() >= kMaxEntriesPerShard) shard.entries.clear();
  shard.entries[key] = RoleEntry{roles, snapshot};
  return roles;
}

}  // namespace ok::auth
