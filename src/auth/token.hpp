#pragma once
// Access-token secrets: format, generation, hashing and comparison.
// A token is a prefix (`kpat_` for personal access tokens, `spat_` for system-account
// tokens, so secret scanners recognise leaked ones) and base62 characters from the OS
// CSPRNG: 49 for a PAT and 50 for a system-account token, the lengths Konnect's own tokens
// have (over 290 bits). Only the SHA-256 of the whole token is stored.

#include <optional>
#include <string>
#include <string_view>

namespace ok::auth {

enum class TokenKind { personal, system_account };

inline constexpr std::string_view kPersonalPrefix = "kpat_";
inline constexpr std::string_view kSystemAccountPrefix = "spat_";
inline constexpr std::size_t kPersonalSecretLength = 49;
inline constexpr std::size_t kSystemAccountSecretLength = 50;

std::string generate_token(TokenKind kind);
// The full length (prefix included) of a token of `kind`.
std::size_t token_length(TokenKind kind);

// The token's kind when it has the shape of one of ours (prefix, length, alphabet); a token
// that fails this is rejected without a database lookup.
std::optional<TokenKind> token_kind(std::string_view token);

// Lower-case hex SHA-256 of the token.
std::string hash_token(std::string_view token);

// Constant-time equality of two hashes.
bool hashes_equal(std::string_view a, std::string_view b);

// Extracts the token from an Authorization header value ("Bearer <token>"); nullopt when
// the header does not use the Bearer scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace ok::auth
