#include "http/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace {

// Keys and certificates are made here, at test time: no private key is committed.

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* x) const { X509_free(x); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct SslFree {
  void operator()(SSL* s) const { SSL_free(s); }
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

std::string key_pem(EVP_PKEY* key, const char* passphrase = nullptr) {
  Bio bio(BIO_new(BIO_s_mem()));
  const EVP_CIPHER* cipher = passphrase ? EVP_aes_256_cbc() : nullptr;
  auto* pass = reinterpret_cast<unsigned char*>(const_cast<char*>(passphrase));
  const int pass_len = passphrase ? static_cast<int>(std::char_traits<char>::length(passphrase)) : 0;
  require(PEM_write_bio_PrivateKey(bio.get(), key, cipher, pass, pass_len, nullptr, nullptr) == 1, "write key");
  return bio_text(bio.get());
}

std::string cert_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  require(PEM_write_bio_X509(bio.get(), cert) == 1, "write certificate");
  return bio_text(bio.get());
}

// A certificate for `key`, signed by `issuer_key` under `issuer` (self-signed when null).
Cert certificate(EVP_PKEY* key, const char* cn, EVP_PKEY* issuer_key = nullptr, X509* issuer = nullptr) {
  Cert cert(X509_new());
  require(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(cert.get(), key);
  EVP_PKEY* signer = issuer_key ? issuer_key : key;
  // Ed25519 signs without a separate digest.
  const EVP_MD* md = EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  require(X509_sign(cert.get(), signer, md) > 0, "X509_sign");
  return cert;
}

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ec_ = Key(EVP_EC_gen("P-256"));
    require(ec_ != nullptr, "EVP_EC_gen");
    other_ec_ = Key(EVP_EC_gen("P-256"));
    require(other_ec_ != nullptr, "EVP_EC_gen");
    rsa_ = Key(EVP_RSA_gen(2048));
    require(rsa_ != nullptr, "EVP_RSA_gen");
    ec_cert_ = certificate(ec_.get(), "localhost");
    rsa_cert_ = certificate(rsa_.get(), "localhost");
    ca_cert_ = certificate(rsa_.get(), "unit test CA");
    leaf_cert_ = certificate(ec_.get(), "leaf.test", rsa_.get(), ca_cert_.get());
  }

  static void TearDownTestSuite() {
    ec_cert_.reset();
    rsa_cert_.reset();
    ca_cert_.reset();
    leaf_cert_.reset();
    ec_.reset();
    other_ec_.reset();
    rsa_.reset();
  }

  void TearDown() override {
    EXPECT_EQ(ERR_peek_error(), 0ul) << "OpenSSL error queue left non-empty";
    ERR_clear_error();
  }

  // The message make_server_tls_context throws (it must throw), checked never to repeat the key.
  static std::string refusal(const std::string& certificate_pem, const std::string& private_key_pem) {
    try {
      ok::http::make_server_tls_context(certificate_pem, private_key_pem);
    } catch (const std::runtime_error& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.find("PRIVATE KEY"), std::string::npos) << message;
      // A line of the key's base64 body.
      const auto body = private_key_pem.find('\n');
      if (body != std::string::npos && private_key_pem.size() > body + 33) {
        EXPECT_EQ(message.find(private_key_pem.substr(body + 1, 32)), std::string::npos) << message;
      }
      return message;
    }
    ADD_FAILURE() << "make_server_tls_context accepted an unusable certificate or key";
    return {};
  }

  static inline Key ec_, other_ec_, rsa_;
  static inline Cert ec_cert_, rsa_cert_, ca_cert_, leaf_cert_;
};

TEST_F(Tls, GoodPairMakesAContextWithTheTlsPolicy) {
  const auto context = ok::http::make_server_tls_context(cert_pem(ec_cert_.get()), key_pem(ec_.get()));
  ASSERT_NE(context, nullptr);
  SSL_CTX* ctx = context->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx), TLS1_3_VERSION);
  const auto options = SSL_CTX_get_options(ctx);
  EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(options & SSL_OP_CIPHER_SERVER_PREFERENCE);
  EXPECT_TRUE(SSL_CTX_get_mode(ctx) & SSL_MODE_RELEASE_BUFFERS);
  EXPECT_TRUE(SSL_CTX_get_mode(ctx) & SSL_MODE_NO_AUTO_CHAIN);
  EXPECT_EQ(X509_cmp(SSL_CTX_get0_certificate(ctx), ec_cert_.get()), 0);
}

TEST_F(Tls, RsaAndEd25519KeysWorkToo) {
  Key ed25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  ASSERT_NE(ed25519, nullptr);
  const auto ed25519_cert = certificate(ed25519.get(), "localhost");
  EXPECT_NE(ok::http::make_server_tls_context(cert_pem(ed25519_cert.get()), key_pem(ed25519.get())), nullptr);
  EXPECT_NE(ok::http::make_server_tls_context(cert_pem(rsa_cert_.get()), key_pem(rsa_.get())), nullptr);
}

TEST_F(Tls, OnlyForwardSecretAeadCiphersAreOffered) {
  const auto context = ok::http::make_server_tls_context(cert_pem(rsa_cert_.get()), key_pem(rsa_.get()));
  std::unique_ptr<SSL, SslFree> ssl(SSL_new(context->native_handle()));
  ASSERT_NE(ssl, nullptr);
  STACK_OF(SSL_CIPHER)* ciphers = SSL_get_ciphers(ssl.get());
  ASSERT_NE(ciphers, nullptr);
  int tls13 = 0;
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(ciphers, i);
    const std::string name = SSL_CIPHER_get_name(cipher);
    EXPECT_TRUE(SSL_CIPHER_is_aead(cipher)) << name;
    if (std::string(SSL_CIPHER_get_version(cipher)) == "TLSv1.3") {
      ++tls13;  // TLS 1.3 suites are all ephemeral (EC)DHE by construction
      continue;
    }
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(cipher), NID_kx_ecdhe) << name;
    EXPECT_TRUE(name.find("GCM") != std::string::npos || name.find("CHACHA20") != std::string::npos) << name;
  }
  EXPECT_EQ(tls13, 3);
  EXPECT_GT(tls12, 0);
}

TEST_F(Tls, ChainCertificatesAfterTheFirstAreSentAsTheChain) {
  const auto context =
      ok::http::make_server_tls_context(cert_pem(leaf_cert_.get()) + cert_pem(ca_cert_.get()), key_pem(ec_.get()));
  STACK_OF(X509)* chain = nullptr;
  ASSERT_EQ(SSL_CTX_get0_chain_certs(context->native_handle(), &chain), 1);
  ASSERT_NE(chain, nullptr);
  ASSERT_EQ(sk_X509_num(chain), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), ca_cert_.get()), 0);
  EXPECT_EQ(X509_cmp(SSL_CTX_get0_certificate(context->native_handle()), leaf_cert_.get()), 0);
}

TEST_F(Tls, UnusableCertificatePemIsRefused) {
  const auto key = key_pem(ec_.get());
  EXPECT_NE(refusal("", key).find("no usable PEM certificate"), std::string::npos);
  EXPECT_NE(refusal("not a certificate", key).find("no usable PEM certificate"), std::string::npos);
  EXPECT_NE(
      refusal("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", key).find("no usable PEM certificate"),
      std::string::npos);
  // The key file given as the certificate.
  EXPECT_NE(refusal(key, key).find("no usable PEM certificate"), std::string::npos);
  // A good certificate followed by a damaged one.
  const auto damaged = cert_pem(ec_cert_.get()) + "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
  EXPECT_NE(refusal(damaged, key).find("certificate 2 of the chain is unreadable"), std::string::npos);
}

TEST_F(Tls, UnusableKeyPemIsRefused) {
  const auto cert = cert_pem(ec_cert_.get());
  EXPECT_NE(refusal(cert, "").find("no usable PEM private key"), std::string::npos);
  EXPECT_NE(refusal(cert, cert).find("no usable PEM private key"), std::string::npos);
  const auto truncated = key_pem(ec_.get()).substr(0, 80);
  EXPECT_NE(refusal(cert, truncated).find("no usable PEM private key"), std::string::npos);
}

TEST_F(Tls, EncryptedKeyIsRefusedWithoutPrompting) {
  const auto message = refusal(cert_pem(ec_cert_.get()), key_pem(ec_.get(), "correct horse"));
  EXPECT_NE(message.find("encrypted"), std::string::npos) << message;
}

TEST_F(Tls, KeyOfAnotherCertificateIsRefused) {
  // Same type, other key; and another type altogether.
  for (EVP_PKEY* key : {other_ec_.get(), rsa_.get()}) {
    const auto message = refusal(cert_pem(ec_cert_.get()), key_pem(key));
    EXPECT_NE(message.find("does not match the certificate"), std::string::npos) << message;
  }
  // The CA's key with a chain whose first certificate is the leaf.
  const auto message = refusal(cert_pem(leaf_cert_.get()) + cert_pem(ca_cert_.get()), key_pem(rsa_.get()));
  EXPECT_NE(message.find("does not match the certificate"), std::string::npos) << message;
}

TEST(ReadPemFile, ReadsTheFile) {
  const auto path = std::filesystem::temp_directory_path() / ("openkonnect-tls-test-" + std::to_string(getpid()));
  {
    std::ofstream out(path, std::ios::binary);
    out << "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  }
  EXPECT_EQ(ok::http::read_pem_file(path.string()), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  std::filesystem::remove(path);
}

TEST(ReadPemFile, UnreadableFileIsNamed) {
  const std::string path = "/nonexistent/openkonnect/tls.pem";
  try {
    ok::http::read_pem_file(path);
    FAIL() << "read a file that does not exist";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("No such file"), std::string::npos) << message;
  }
  try {
    ok::http::read_pem_file("/");
    FAIL() << "read a directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot read /"), std::string::npos) << e.what();
  }
}

}  // namespace
