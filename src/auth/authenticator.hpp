#pragma once
// Turns an Authorization header into a Principal, or a 401.
//
// Lookups are cached by token hash so that a warm request does not touch the database, and
// so are each principal's role assignments. Both caches are invalidated per organization
// through auth::Generations (see there): any committed write to the organization makes the
// next request read again, so a revoked token or a removed role fails at once.

#include "auth/generations.hpp"
#include "auth/principal.hpp"
#include "auth/token_index.hpp"
#include "errors/api_error.hpp"
#include "store/store.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ok::auth {

// Why an authentication failed, in Konnect's audit terms (AUTHENTICATION_OUTCOME_<outcome>,
// AUTHENTICATION_TYPE_<type>), and whose token it was when that is known (an expired or
// revoked token still names its organization).
struct AuthFailure {
  const char* outcome = "INVALID";  // INVALID, NOT_FOUND, TOKEN_EXPIRED, DISABLED
  const char* type = "INVALID";     // INVALID, PAT, SPAT
  std::string org_id;
  std::string token_id;
  std::string principal_id;
  std::string principal_kind;
};

class Authenticator {
 public:
  Authenticator(store::Store& store, Generations& generations)
      : store_(store), generations_(generations), token_index_(store) {}

  // Throws errors::ApiError 401 for a missing, malformed, unknown, expired or revoked token.
  Principal authenticate(std::optional<std::string_view> authorization_header, std::int64_t now_ms);

  // The same without exceptions, for the request path where most failures are expected
  // (a flood of bad tokens must be cheap to refuse): fills `principal` and returns nullptr,
  // or returns the 401 to answer.
  // `why`, when given, is filled on failure.
  const errors::ApiError* check(std::optional<std::string_view> authorization_header, std::int64_t now_ms,
                                Principal& principal, AuthFailure* why = nullptr);

  // Every role assignment that applies to the principal (direct and through its teams).
  std::shared_ptr<const std::vector<store::RoleAssignment>> roles(const Principal& principal);

  const TokenIndex& token_index() const { return token_index_; }

 private:
  // Entries are shared, immutable apart from last_touch_ms: a hit copies a pointer, not
  // the token's strings.
  struct Entry {
    store::TokenLookup lookup;
    std::uint64_t snapshot = 0;
    std::atomic<std::int64_t> last_touch_ms{0};
    Entry(store::TokenLookup l, std::uint64_t s, std::int64_t t)
        : lookup(std::move(l)), snapshot(s), last_touch_ms(t) {}
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::shared_ptr<Entry>> entries;
    // Hashes that matched no token. A token created later cannot be in here unless someone
    // presented its secret before it existed (a 290-bit guess), so entries never go stale.
    std::unordered_set<std::string> unknown;
  };
  struct RoleEntry {
    std::shared_ptr<const std::vector<store::RoleAssignment>> roles;
    std::uint64_t snapshot = 0;
  };
  struct RoleShard {
    std::mutex mutex;
    std::unordered_map<std::string, RoleEntry> entries;  // key: principal kind + ':' + id
  };
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxEntriesPerShard = 4096;
  static constexpr std::int64_t kTouchIntervalMs = 60'000;

  Shard& shard_for(const std::string& hash) { return shards_[std::hash<std::string>{}(hash) % kShards]; }

  store::Store& store_;
  Generations& generations_;
  TokenIndex token_index_;
  std::array<Shard, kShards> shards_;
  std::array<RoleShard, kShards> role_shards_;
};

}  // namespace ok::auth
