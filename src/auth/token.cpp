#include "auth/token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <stdexcept>

namespace ok::auth {
namespace {
static_assert(kPersonalPrefix.size() == kSystemAccountPrefix.size());
constexpr std::size_t kPrefixSize = kPersonalPrefix.size();
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool is_base62(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
}  // namespace

std::size_t token_length(TokenKind kind) {
  return kPrefixSize + (kind == TokenKind::personal ? kPersonalSecretLength : kSystemAccountSecretLength);
}

std::string generate_token(TokenKind kind) {
  std::string out(kind == TokenKind::personal ? kPersonalPrefix : kSystemAccountPrefix);
  const std::size_t length = token_length(kind);
  std::array<unsigned char, 64> buffer{};
  while (out.size() < length) {
    if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    for (unsigned char b : buffer) {
      // Rejection sampling keeps every character equally likely: 248 = 4 * 62.
      if (b >= 248) continue;
      out.push_back(kAlphabet[b % 62]);
      if (out.size() == length) break;
    }
  }
  return out;
}

std::optional<TokenKind> token_kind(std::string_view token) {
  std::optional<TokenKind> kind;
  if (token.substr(0, kPersonalPrefix.size()) == kPersonalPrefix) kind = TokenKind::personal;
  if (token.substr(0, kSystemAccountPrefix.size()) == kSystemAccountPrefix) kind = TokenKind::system_account;
  if (!kind || token.size() != token_length(*kind)) return std::nullopt;
  for (char c : token.substr(kPrefixSize)) {
    if (!is_base62(c)) return std::nullopt;
  }
  return kind;
}

std::string hash_token(std::string_view token) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(token.data(), token.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0F]);
  }
  return out;
}

bool hashes_equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return std::nullopt;
  }
  auto token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  return token;
}

}  // namespace ok::auth
