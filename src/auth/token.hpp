#pragma once
// Access-token secrets: format, generation, hashing and comparison.
// A token is a prefix (`kpat_` for personal access tokens, `spat_` for system-account
// tokens, so secret scanners recognise leaked ones) and 48 base62 characters from the OS
// CSPRNG (about 285 bits). Only the SHA-256 of the whole token is stored.

#include <optional>
#include <string>
#include <string_view>

namespace ok::auth {

enum class TokenKind { personal, system_account };

inline constexpr std::string_view kPersonalPrefix = "kpat_";
inline constexpr std::string_view kSystemAccountPrefix = "spat_";
inline constexpr std::size_t kSecretLength = 48;

std::string generate_token(TokenKind kind);

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
