#include "auth/token.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

namespace {

using ok::auth::bearer_token;
using ok::auth::generate_token;
using ok::auth::kPersonalSecretLength;
using ok::auth::kSystemAccountSecretLength;
using ok::auth::token_length;
using ok::auth::hash_token;
using ok::auth::hashes_equal;
using ok::auth::token_kind;
using ok::auth::TokenKind;

bool is_base62(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// A secret of the right length for `kind`, all one character.
std::string secret(TokenKind kind, char c = 'a') {
  return std::string(kind == TokenKind::personal ? kPersonalSecretLength : kSystemAccountSecretLength, c);
}

TEST(Token, SecretsCarryAtLeast256Bits) {
  // log2(62) ~ 5.954 bits per character.
  EXPECT_GE(kPersonalSecretLength * 5.954, 256.0);
  EXPECT_GE(kSystemAccountSecretLength * 5.954, 256.0);
  EXPECT_EQ(token_length(TokenKind::personal), 5u + kPersonalSecretLength);
  EXPECT_EQ(token_length(TokenKind::system_account), 5u + kSystemAccountSecretLength);
}

TEST(Token, PersonalTokenFormat) {
  const auto t = generate_token(TokenKind::personal);
  ASSERT_EQ(t.size(), 5u + kPersonalSecretLength) << t;
  EXPECT_EQ(t.substr(0, 5), "kpat_");
  for (char c : t.substr(5)) EXPECT_TRUE(is_base62(c)) << t;
}

TEST(Token, SystemAccountTokenFormat) {
  const auto t = generate_token(TokenKind::system_account);
  ASSERT_EQ(t.size(), 5u + kSystemAccountSecretLength) << t;
  EXPECT_EQ(t.substr(0, 5), "spat_");
  for (char c : t.substr(5)) EXPECT_TRUE(is_base62(c)) << t;
}

TEST(Token, GeneratedTokensAreUniqueAndUseTheWholeAlphabet) {
  std::set<std::string> seen;
  std::set<char> chars;
  for (int i = 0; i < 5000; ++i) {
    auto t = generate_token(i % 2 ? TokenKind::personal : TokenKind::system_account);
    for (char c : t.substr(5)) chars.insert(c);
    EXPECT_TRUE(seen.insert(std::move(t)).second);
  }
  EXPECT_EQ(seen.size(), 5000u);
  // ~250,000 random characters from a 62-letter alphabet hit every letter.
  EXPECT_EQ(chars.size(), 62u);
}

TEST(Token, SecretsAreNotBiasedTowardsAFewCharacters) {
  // With uniform sampling each of the 62 characters appears ~1/62 of the time; a modulo
  // bias (256 % 62) would show up as the first 8 characters being ~25% more common.
  std::array<int, 128> counts{};
  constexpr int kTokens = 4000;
  for (int i = 0; i < kTokens; ++i) {
    for (char c : generate_token(TokenKind::personal).substr(5)) ++counts[static_cast<unsigned char>(c)];
  }
  const double expected = kTokens * static_cast<double>(kPersonalSecretLength) / 62.0;  // ~3160 per character
  for (char c : std::string("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")) {
    const double n = counts[static_cast<unsigned char>(c)];
    EXPECT_GT(n, expected * 0.85) << c;
    EXPECT_LT(n, expected * 1.15) << c;
  }
}

TEST(Token, KindOfGeneratedTokens) {
  EXPECT_EQ(token_kind(generate_token(TokenKind::personal)), TokenKind::personal);
  EXPECT_EQ(token_kind(generate_token(TokenKind::system_account)), TokenKind::system_account);
}

TEST(Token, KindAcceptsHandWrittenTokens) {
  EXPECT_EQ(token_kind("kpat_" + secret(TokenKind::personal)), TokenKind::personal);
  EXPECT_EQ(token_kind("spat_" + secret(TokenKind::system_account, 'Z')), TokenKind::system_account);
  const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  EXPECT_EQ(token_kind("kpat_" + alphabet.substr(0, kPersonalSecretLength)), TokenKind::personal);
  EXPECT_EQ(token_kind("spat_" + alphabet.substr(62 - kSystemAccountSecretLength)), TokenKind::system_account);
}

TEST(Token, KindRejectsWrongPrefix) {
  const std::string s = secret(TokenKind::personal);
  for (const std::string& t : {"kpat-" + s, "KPAT_" + s, "Kpat_" + s, "xpat_" + s, "kpa_a" + s, "Bearer " + s,
                               s + "aaaaa", "pat_" + s + "a", "spat-" + s, "SPAT_" + s}) {
    EXPECT_FALSE(token_kind(t).has_value()) << t;
  }
}

TEST(Token, KindRejectsWrongLength) {
  EXPECT_FALSE(token_kind("").has_value());
  EXPECT_FALSE(token_kind("kpat_").has_value());
  EXPECT_FALSE(token_kind("spat_").has_value());
  EXPECT_FALSE(token_kind("kpat_" + std::string(kPersonalSecretLength - 1, 'a')).has_value());
  EXPECT_FALSE(token_kind("kpat_" + std::string(kPersonalSecretLength + 1, 'a')).has_value());
  EXPECT_FALSE(token_kind("spat_" + std::string(kSystemAccountSecretLength - 1, 'a')).has_value());
  EXPECT_FALSE(token_kind("spat_" + std::string(kSystemAccountSecretLength + 1, 'a')).has_value());
  EXPECT_FALSE(token_kind("spat_" + std::string(100, 'a')).has_value());
  const auto t = generate_token(TokenKind::personal);
  EXPECT_FALSE(token_kind(t + "x").has_value());
  EXPECT_FALSE(token_kind(t.substr(0, t.size() - 1)).has_value());
}

TEST(Token, EachPrefixHasItsOwnLength) {
  ASSERT_NE(kPersonalSecretLength, kSystemAccountSecretLength);
  EXPECT_FALSE(token_kind("kpat_" + secret(TokenKind::system_account)).has_value());
  EXPECT_FALSE(token_kind("spat_" + secret(TokenKind::personal)).has_value());
}

TEST(Token, KindRejectsCharactersOutsideBase62) {
  const auto good = generate_token(TokenKind::personal);
  for (char bad : {'-', '_', '+', '/', '=', ' ', '.', '\0', '\n', '\xC3'}) {
    for (std::size_t pos : {std::size_t{5}, std::size_t{30}, good.size() - 1}) {
      auto t = good;
      t[pos] = bad;
      EXPECT_FALSE(token_kind(t).has_value()) << "char " << int(bad) << " at " << pos;
    }
  }
}

TEST(Token, HashIsStableLowerHexSha256) {
  const auto t = generate_token(TokenKind::personal);
  const auto h = hash_token(t);
  ASSERT_EQ(h.size(), 64u);
  for (char c : h) EXPECT_TRUE(is_lower_hex(c)) << h;
  EXPECT_EQ(hash_token(t), h);
  EXPECT_NE(h, t);
}

TEST(Token, HashMatchesKnownSha256Vectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(hash_token(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Token, HashDiffersPerToken) {
  std::set<std::string> hashes;
  for (int i = 0; i < 1000; ++i) hashes.insert(hash_token(generate_token(TokenKind::personal)));
  EXPECT_EQ(hashes.size(), 1000u);
  // A one-character change changes the hash.
  const std::string a = "kpat_" + secret(TokenKind::personal);
  auto b = a;
  b.back() = 'b';
  EXPECT_NE(hash_token(a), hash_token(b));
  // The prefix is part of what is hashed.
  EXPECT_NE(hash_token("kpat_" + std::string(50, 'a')), hash_token("spat_" + std::string(50, 'a')));
}

TEST(Token, HashesEqual) {
  const auto h = hash_token("kpat_x");
  EXPECT_TRUE(hashes_equal(h, hash_token("kpat_x")));
  EXPECT_FALSE(hashes_equal(h, hash_token("kpat_y")));
  auto last_differs = h;
  last_differs.back() = last_differs.back() == '0' ? '1' : '0';
  EXPECT_FALSE(hashes_equal(h, last_differs));
  EXPECT_FALSE(hashes_equal(h, h.substr(0, 63)));
  EXPECT_FALSE(hashes_equal(h, ""));
  EXPECT_TRUE(hashes_equal("", ""));
}

TEST(Token, BearerToken) {
  EXPECT_EQ(bearer_token("Bearer kpat_abc"), std::optional<std::string_view>("kpat_abc"));
}

TEST(Token, BearerSchemeIsCaseInsensitive) {
  for (const char* header : {"bearer kpat_abc", "BEARER kpat_abc", "BeArEr kpat_abc"}) {
    EXPECT_EQ(bearer_token(header), std::optional<std::string_view>("kpat_abc")) << header;
  }
}

TEST(Token, BearerToleratesExtraSpaces) {
  EXPECT_EQ(bearer_token("Bearer    kpat_abc"), std::optional<std::string_view>("kpat_abc"));
  EXPECT_EQ(bearer_token("Bearer kpat_abc   "), std::optional<std::string_view>("kpat_abc"));
  EXPECT_EQ(bearer_token("Bearer   kpat_abc \t "), std::optional<std::string_view>("kpat_abc"));
}

TEST(Token, BearerMissingOrOtherScheme) {
  for (const char* header : {"", "kpat_abc", "Basic dXNlcjpwYXNz", "Bearer", "Bearerkpat_abc", "Token kpat_abc",
                             "Bear kpat_abc"}) {
    EXPECT_FALSE(bearer_token(header).has_value()) << header;
  }
}

TEST(Token, BearerWithNoTokenIsEmpty) {
  // The scheme is right but nothing follows: an empty token, which no lookup can match.
  auto t = bearer_token("Bearer   ");
  ASSERT_TRUE(t.has_value());
  EXPECT_TRUE(t->empty());
  EXPECT_FALSE(token_kind(*t).has_value());
}

TEST(Token, BearerRoundTripsAGeneratedToken) {
  const auto t = generate_token(TokenKind::system_account);
  const auto header = "Bearer " + t;
  auto extracted = bearer_token(header);
  ASSERT_TRUE(extracted.has_value());
  EXPECT_EQ(*extracted, t);
  EXPECT_EQ(token_kind(*extracted), TokenKind::system_account);
}

}  // namespace
