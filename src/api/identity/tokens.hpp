#pragma once
// Rules shared by personal and system-account access tokens.

#include "api/context.hpp"
#include "store/records.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace ok::api::identity {

inline constexpr std::int64_t kMinTokenTtlSeconds = 86'400;      // 1 day
inline constexpr std::int64_t kMaxTokenTtlSeconds = 31'536'000;  // 365 days
inline constexpr std::size_t kMaxPersonalTokensPerUser = 10;

// 400 (field `field`) unless `expires_at` lies in the future and at most 365 days ahead.
void check_expiry(std::int64_t expires_at_ms, std::int64_t now_ms, std::string_view field);

// PATName: letters or digits at both ends; letters, digits, space, `_`, `-`, `.` and `'`
// inside. "Letter" follows Unicode loosely: any non-ASCII code point outside the
// punctuation and symbol blocks counts, which is what the spec's \p{L}\p{N} aims at.
std::string pat_name_problem(std::string_view name);

// 409 for a token name its owner already uses.
[[noreturn]] void token_name_conflict(const std::string& name);

// A new token as stored (its hash), and the secret shown once, in the 201.
struct NewToken {
  store::AccessToken record;
  std::string secret;
};

// POST of a personal or system-account token: generates the secret and stores its hash;
// 409 on a name the owner already uses. At most `max_per_owner` tokens (0: no limit): beyond
// that, the store's InvariantError propagates for the caller to word.
NewToken create_token(RequestContext& ctx, store::PrincipalKind owner_kind, const std::string& owner_id,
                      std::string name, std::int64_t expires_at_ms, std::int64_t now_ms, std::size_t max_per_owner);

// PATCH of a personal or system-account token: renames it inside the write transaction;
// 409 on a name the owner already uses, 404 when the token vanished meanwhile.
store::AccessToken rename_token(RequestContext& ctx, store::PrincipalKind owner_kind, const std::string& owner_id,
                                const std::string& token_id, const std::string& name);

}  // namespace ok::api::identity
