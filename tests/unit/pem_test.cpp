#include "crypto/pem.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace {

namespace crypto = ok::crypto;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;
using Bio = std::unique_ptr<BIO, BioFree>;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("OpenSSL test setup failed: ") + what);
}

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string private_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  require(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "write key");
  return bio_text(bio.get());
}

std::string public_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  require(PEM_write_bio_PUBKEY(bio.get(), key) == 1, "write public key");
  return bio_text(bio.get());
}

std::string certificate_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  require(PEM_write_bio_X509(bio.get(), cert) == 1, "write certificate");
  return bio_text(bio.get());
}

struct CertificateOptions {
  const char* basic_constraints = nullptr;  // "critical,CA:TRUE", "CA:FALSE" or none
  long not_before_days = -1;
  long not_after_days = 30;
};

// A self-signed certificate for `key`.
Cert self_signed(EVP_PKEY* key, const CertificateOptions& options) {
  Cert cert(X509_new());
  require(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);  // v3, for the extension
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), options.not_before_days * 24 * 3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), options.not_after_days * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("unit.test"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key);
  if (options.basic_constraints) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_basic_constraints, options.basic_constraints);
    require(ext != nullptr, "basicConstraints");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  // Ed25519 signs without a separate digest.
  const EVP_MD* md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  require(X509_sign(cert.get(), key, md) > 0, "X509_sign");
  return cert;
}

std::string der_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  require(X509_digest(cert, EVP_sha256(), md, &n) == 1, "X509_digest");
  std::string out;
  static const char* digits = "0123456789abcdef";
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 15];
  }
  return out;
}

// Key generation is the slow part (RSA especially): done once for the whole suite.
class Pem : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = Key(EVP_RSA_gen(2048));
    require(rsa_ != nullptr, "EVP_RSA_gen");
    other_rsa_ = Key(EVP_RSA_gen(2048));
    require(other_rsa_ != nullptr, "EVP_RSA_gen");
    ec_ = Key(EVP_EC_gen("P-256"));
    require(ec_ != nullptr, "EVP_EC_gen");
    ed25519_ = Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    require(ed25519_ != nullptr, "ED25519 keygen");

    ca_cert_ = self_signed(rsa_.get(), {.basic_constraints = "critical,CA:TRUE"});
    leaf_cert_ = self_signed(ec_.get(), {.basic_constraints = "CA:FALSE"});
    expired_cert_ = self_signed(rsa_.get(), {.not_before_days = -10, .not_after_days = -1});
    ed25519_cert_ = self_signed(ed25519_.get(), {});
  }

  static void TearDownTestSuite() {
    ca_cert_.reset();
    leaf_cert_.reset();
    expired_cert_.reset();
    ed25519_cert_.reset();
    rsa_.reset();
    other_rsa_.reset();
    ec_.reset();
    ed25519_.reset();
  }

  void TearDown() override {
    // Every function under test promises to leave OpenSSL's per-thread error queue empty.
    EXPECT_EQ(ERR_peek_error(), 0ul) << "OpenSSL error queue left non-empty";
    ERR_clear_error();
  }

  static crypto::CertificateInfo inspect(const std::string& pem) {
    std::string error;
    const auto info = crypto::inspect_certificate(pem, error);
    EXPECT_TRUE(info.has_value()) << error;
    return info.value_or(crypto::CertificateInfo{});
  }

  static inline Key rsa_, other_rsa_, ec_, ed25519_;
  static inline Cert ca_cert_, leaf_cert_, expired_cert_, ed25519_cert_;
};

// ---------------------------------------------------------------- inspect_certificate

TEST_F(Pem, CertificateDigestIsTheSha256OfItsDer) {
  const auto info = inspect(certificate_pem(ca_cert_.get()));
  EXPECT_EQ(info.sha256_hex, der_sha256(ca_cert_.get()));
  EXPECT_EQ(info.sha256_hex.size(), 64u);
  EXPECT_NE(inspect(certificate_pem(leaf_cert_.get())).sha256_hex, info.sha256_hex);
}

TEST_F(Pem, CertificateKeyType) {
  EXPECT_EQ(inspect(certificate_pem(ca_cert_.get())).key_type, "RSA");
  EXPECT_EQ(inspect(certificate_pem(leaf_cert_.get())).key_type, "EC");
  EXPECT_EQ(inspect(certificate_pem(ed25519_cert_.get())).key_type, "ED25519");
}

TEST_F(Pem, CertificateIsCaOnlyWithBasicConstraintsCaTrue) {
  EXPECT_TRUE(inspect(certificate_pem(ca_cert_.get())).is_ca);
  EXPECT_FALSE(inspect(certificate_pem(leaf_cert_.get())).is_ca);
  // No basicConstraints at all: not a CA, even though it is self-signed.
  EXPECT_FALSE(inspect(certificate_pem(expired_cert_.get())).is_ca);
}

TEST_F(Pem, CertificateExpiry) {
  EXPECT_FALSE(inspect(certificate_pem(ca_cert_.get())).expired);
  EXPECT_TRUE(inspect(certificate_pem(expired_cert_.get())).expired);
}

TEST_F(Pem, CertificateChainCountsItsBlocksAndDescribesTheFirst) {
  const auto chain = certificate_pem(leaf_cert_.get()) + certificate_pem(ca_cert_.get());
  const auto info = inspect(chain);
  EXPECT_EQ(info.pem_blocks, 2);
  EXPECT_EQ(info.sha256_hex, der_sha256(leaf_cert_.get()));
  EXPECT_EQ(inspect(certificate_pem(ca_cert_.get())).pem_blocks, 1);
}

TEST_F(Pem, GarbageIsNotACertificate) {
  for (const std::string& text :
       {std::string("garbage"), std::string(),
        std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), private_pem(rsa_.get())}) {
    std::string error;
    EXPECT_FALSE(crypto::inspect_certificate(text, error).has_value()) << text;
    EXPECT_TRUE(error.starts_with("invalid certificate")) << error;
    EXPECT_EQ(ERR_peek_error(), 0ul);
  }
}

TEST_F(Pem, TruncatedCertificateIsRefused) {
  const auto pem = certificate_pem(ca_cert_.get());
  std::string error;
  EXPECT_FALSE(crypto::inspect_certificate(pem.substr(0, pem.size() / 2), error).has_value());
  EXPECT_TRUE(error.starts_with("invalid certificate: ")) << error;
}

// ---------------------------------------------------------------- keys

TEST_F(Pem, PrivateKeyProblem) {
  EXPECT_EQ(crypto::private_key_problem(private_pem(rsa_.get())), "");
  EXPECT_EQ(crypto::private_key_problem(private_pem(ec_.get())), "");
  EXPECT_EQ(crypto::private_key_problem(private_pem(ed25519_.get())), "");
  EXPECT_TRUE(crypto::private_key_problem("not a key").starts_with("invalid key: "));
  // A public key is not a private key.
  EXPECT_TRUE(crypto::private_key_problem(public_pem(rsa_.get())).starts_with("invalid key: "));
  // Nor is a certificate.
  EXPECT_FALSE(crypto::private_key_problem(certificate_pem(ca_cert_.get())).empty());
}

TEST_F(Pem, KeyProblemNeverEchoesKeyMaterial) {
  auto pem = private_pem(rsa_.get());
  // Corrupt the middle of the base64 body so that it fails to decode as a key.
  const auto body_line = pem.find('\n') + 1;
  const std::string secret_line = pem.substr(body_line, 64);
  pem.replace(body_line + 10, 8, "!!!!!!!!");
  const auto problem = crypto::private_key_problem(pem);
  ASSERT_FALSE(problem.empty());
  EXPECT_EQ(problem.find(secret_line.substr(20, 30)), std::string::npos) << problem;
  EXPECT_LT(problem.size(), 200u) << problem;
}

TEST_F(Pem, PublicKeyProblem) {
  EXPECT_EQ(crypto::public_key_problem(public_pem(rsa_.get())), "");
  EXPECT_EQ(crypto::public_key_problem(public_pem(ec_.get())), "");
  // A private key counts: its public half is in it.
  EXPECT_EQ(crypto::public_key_problem(private_pem(ec_.get())), "");
  EXPECT_TRUE(crypto::public_key_problem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                  .starts_with("invalid key: "));
  EXPECT_TRUE(crypto::public_key_problem("").starts_with("invalid key: "));
}

TEST_F(Pem, KeyType) {
  EXPECT_EQ(crypto::key_type(private_pem(rsa_.get())), "RSA");
  EXPECT_EQ(crypto::key_type(public_pem(ec_.get())), "EC");
  EXPECT_EQ(crypto::key_type(private_pem(ed25519_.get())), "ED25519");
  EXPECT_EQ(crypto::key_type("nothing"), "");
}

TEST_F(Pem, CertificateMatchesKey) {
  EXPECT_TRUE(crypto::certificate_matches_key(certificate_pem(ca_cert_.get()), private_pem(rsa_.get())));
  EXPECT_TRUE(crypto::certificate_matches_key(certificate_pem(leaf_cert_.get()), private_pem(ec_.get())));
  EXPECT_FALSE(crypto::certificate_matches_key(certificate_pem(ca_cert_.get()), private_pem(other_rsa_.get())));
  EXPECT_FALSE(crypto::certificate_matches_key(certificate_pem(ca_cert_.get()), private_pem(ec_.get())));
  EXPECT_FALSE(crypto::certificate_matches_key("garbage", private_pem(rsa_.get())));
  EXPECT_FALSE(crypto::certificate_matches_key(certificate_pem(ca_cert_.get()), "garbage"));
}

TEST_F(Pem, KeysMatch) {
  EXPECT_TRUE(crypto::keys_match(public_pem(rsa_.get()), private_pem(rsa_.get())));
  EXPECT_TRUE(crypto::keys_match(public_pem(ec_.get()), private_pem(ec_.get())));
  EXPECT_FALSE(crypto::keys_match(public_pem(rsa_.get()), private_pem(other_rsa_.get())));
  EXPECT_FALSE(crypto::keys_match(public_pem(ec_.get()), private_pem(rsa_.get())));
  EXPECT_FALSE(crypto::keys_match("garbage", private_pem(rsa_.get())));
  EXPECT_FALSE(crypto::keys_match(public_pem(rsa_.get()), "garbage"));
}

// ---------------------------------------------------------------- JWK

TEST_F(Pem, JwkMembersPerKeyType) {
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "RSA", "n": "0vx7agoebG", "e": "AQAB"})"), "");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "EC", "crv": "P-256", "x": "f83O", "y": "x_FE"})"), "");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "OKP", "crv": "Ed25519", "x": "11qY"})"), "");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "oct", "k": "GawgguFyGrWKav7AX4VKUg"})"), "");

  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "RSA", "n": "0vx7agoebG"})"),
            "could not load JWK: an RSA key needs 'n' and 'e'");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "RSA", "n": "0vx7agoebG", "e": ""})"),
            "could not load JWK: an RSA key needs 'n' and 'e'");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "EC", "crv": "P-256", "x": "f83O"})"),
            "could not load JWK: an EC key needs 'crv', 'x' and 'y'");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "OKP", "x": "11qY"})"),
            "could not load JWK: an OKP key needs 'crv' and 'x'");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "oct", "k": 5})"), "could not load JWK: a symmetric key needs 'k'");
}

TEST_F(Pem, JwkThatIsNotOne) {
  EXPECT_EQ(crypto::jwk_problem("not json"), "could not load JWK: not a JSON object");
  EXPECT_EQ(crypto::jwk_problem(R"(["kty", "RSA"])"), "could not load JWK: not a JSON object");
  EXPECT_EQ(crypto::jwk_problem(""), "could not load JWK: not a JSON object");
  EXPECT_EQ(crypto::jwk_problem("{}"), "could not load JWK: missing 'kty'");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": 1})"), "could not load JWK: missing 'kty'");
  EXPECT_EQ(crypto::jwk_problem(R"({"kty": "DSA"})"), "could not load JWK: unsupported 'kty'");
}

// ---------------------------------------------------------------- digests

TEST_F(Pem, DigestsOfKnownVectors) {
  // FIPS 180-2 test vectors.
  EXPECT_EQ(crypto::sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(crypto::sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(crypto::sha1_hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(crypto::sha1_hex(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  // Binary input with NUL bytes is hashed whole.
  EXPECT_NE(crypto::sha256_hex(std::string("a\0b", 3)), crypto::sha256_hex("a"));
}

}  // namespace
