#include "crypto/x509.hpp"

#include "crypto/pem.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string to_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  require(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string to_der(X509* cert) {
  unsigned char* out = nullptr;
  const int n = i2d_X509(cert, &out);
  require(n > 0, "i2d_X509");
  std::string der(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  OPENSSL_free(out);
  return der;
}

Cert parse_pem(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  require(cert != nullptr, "PEM_read_bio_X509");
  return cert;
}

std::string der_of_pem(const std::string& pem) { return to_der(parse_pem(pem).get()); }

struct Spec {
  bool ca = false;
  long not_before = -3600;                   // seconds from now
  long not_after = 86400;                    // seconds from now
  const char* ext_key_usage = "clientAuth";  // leaves only; nullptr: none
};

// A certificate and its key, made with OpenSSL directly (not with the code under test).
struct Issued {
  Key key;
  Cert cert;
  std::string pem() const { return to_pem(cert.get()); }
  std::string der() const { return to_der(cert.get()); }
};

int serial_counter = 1;

// Signed by `issuer`, or self-signed when `issuer` is null.
Issued issue(const std::string& cn, const Issued* issuer, const Spec& spec) {
  Issued out;
  out.key = Key(EVP_EC_gen("P-256"));
  require(out.key != nullptr, "EVP_EC_gen");
  out.cert = Cert(X509_new());
  X509* c = out.cert.get();
  X509_set_version(c, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(c), serial_counter++);
  X509_gmtime_adj(X509_getm_notBefore(c), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(c), spec.not_after);
  X509_NAME* name = X509_get_subject_name(c);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer->cert.get()) : name);
  X509_set_pubkey(c, out.key.get());

  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, issuer ? issuer->cert.get() : c, c, nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> extensions;
  if (spec.ca) {
    extensions.emplace_back(NID_basic_constraints, "critical,CA:TRUE");
    extensions.emplace_back(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    extensions.emplace_back(NID_basic_constraints, "critical,CA:FALSE");
    extensions.emplace_back(NID_key_usage, "critical,digitalSignature");
    if (spec.ext_key_usage) extensions.emplace_back(NID_ext_key_usage, spec.ext_key_usage);
  }
  for (const auto& [nid, value] : extensions) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    require(ext != nullptr, "X509V3_EXT_conf_nid");
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
  }
  require(X509_sign(c, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) > 0, "X509_sign");
  return out;
}

Issued issue_ca(const std::string& cn, const Issued* issuer = nullptr) { return issue(cn, issuer, {.ca = true}); }

class X509Test : public ::testing::Test {
 protected:
  void TearDown() override {
    // The cluster listener runs these on its TLS threads: they must leave OpenSSL's
    // per-thread error queue as they found it.
    EXPECT_EQ(ERR_peek_error(), 0ul) << "OpenSSL error queue left non-empty";
    ERR_clear_error();
  }

  bool verify(const Issued& leaf, const std::vector<std::string>& intermediates, const std::vector<std::string>& cas,
              int depth, std::string& error) {
    error.clear();
    return crypto::verify_chain(leaf.der(), intermediates, cas, depth, error);
  }
};

// ---------------------------------------------------------------- self_signed_certificate

TEST_F(X509Test, SelfSignedCertificateIdentity) {
  const int days = 30;
  const auto before = now_seconds();
  const auto [cert_pem, key_pem] = crypto::self_signed_certificate("cp.example.test", {"cp.example.test"}, days);
  const auto after = now_seconds();
  ASSERT_NE(cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  ASSERT_NE(key_pem.find("PRIVATE KEY-----"), std::string::npos);

  const auto id = crypto::identity_of_pem(cert_pem);
  ASSERT_TRUE(id);
  EXPECT_EQ(id->subject_hex, id->issuer_hex);  // self-signed
  EXPECT_FALSE(id->subject_hex.empty());
  EXPECT_NE(id->subject_text.find("cp.example.test"), std::string::npos) << id->subject_text;
  EXPECT_GE(id->not_after, before + days * 86400L);
  EXPECT_LE(id->not_after, after + days * 86400L);
  EXPECT_FALSE(id->is_ca);
  EXPECT_EQ(id->sha256_hex.size(), 64u);

  // The digest is the certificate's, as crypto::inspect_certificate (the pinning path) sees it.
  std::string error;
  const auto info = crypto::inspect_certificate(cert_pem, error);
  ASSERT_TRUE(info) << error;
  EXPECT_EQ(id->sha256_hex, info->sha256_hex);
  EXPECT_FALSE(info->expired);
  EXPECT_EQ(info->key_type, "EC");

  // The same from DER.
  const auto from_der = crypto::identity_of_der(der_of_pem(cert_pem));
  ASSERT_TRUE(from_der);
  EXPECT_EQ(from_der->sha256_hex, id->sha256_hex);
  EXPECT_EQ(from_der->subject_hex, id->subject_hex);
  EXPECT_EQ(from_der->not_after, id->not_after);

  // Its subject as OpenSSL encodes it.
  const auto parsed = parse_pem(cert_pem);
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(parsed.get()), X509_get_issuer_name(parsed.get())), 0);
  // Valid already (no clock skew trouble with a node a little behind).
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(parsed.get())), 0);
}

TEST_F(X509Test, SelfSignedCertificateKeyMatchesAndIsP384) {
  const auto [cert_pem, key_pem] = crypto::self_signed_certificate("cp", {"cp"}, 1);
  EXPECT_TRUE(crypto::certificate_matches_key(cert_pem, key_pem));
  EXPECT_EQ(crypto::private_key_problem(key_pem), "");
  EXPECT_EQ(crypto::key_type(key_pem), "EC");

  const auto parsed = parse_pem(cert_pem);
  EVP_PKEY* pub = X509_get0_pubkey(parsed.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_get_bits(pub), 384);
  EXPECT_EQ(X509_verify(parsed.get(), pub), 1);  // signed by its own key

  // A second one is a different certificate with a different key.
  const auto [other_cert, other_key] = crypto::self_signed_certificate("cp", {"cp"}, 1);
  EXPECT_NE(other_cert, cert_pem);
  EXPECT_FALSE(crypto::certificate_matches_key(cert_pem, other_key));
  EXPECT_FALSE(crypto::certificate_matches_key(other_cert, key_pem));
  EXPECT_EQ(ERR_peek_error(), 0ul) << "a mismatch left its error on OpenSSL's queue";
  EXPECT_NE(crypto::identity_of_pem(other_cert)->sha256_hex, crypto::identity_of_pem(cert_pem)->sha256_hex);
}

TEST_F(X509Test, SelfSignedCertificateSubjectAltNames) {
  const auto [cert_pem, key_pem] =
      crypto::self_signed_certificate("cluster", {"cp.example.test", "localhost", "127.0.0.1", "::1", "10.1.2.3"}, 10);
  const auto cert = parse_pem(cert_pem);
  auto host = [&](const char* name) { return X509_check_host(cert.get(), name, 0, 0, nullptr); };
  auto ip = [&](const char* address) { return X509_check_ip_asc(cert.get(), address, 0); };

  EXPECT_EQ(host("cp.example.test"), 1);
  EXPECT_EQ(host("localhost"), 1);
  EXPECT_EQ(host("other.example.test"), 0);
  EXPECT_EQ(host("cluster"), 0);  // the CN is not consulted when there are DNS names

  EXPECT_EQ(ip("127.0.0.1"), 1);
  EXPECT_EQ(ip("::1"), 1);
  EXPECT_EQ(ip("10.1.2.3"), 1);
  EXPECT_EQ(ip("127.0.0.2"), 0);
  EXPECT_EQ(ip("10.1.2.4"), 0);

  // The addresses went in as IP entries, not as DNS names.
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr));
  ASSERT_NE(names, nullptr);
  int dns = 0, ips = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    dns += n->type == GEN_DNS;
    ips += n->type == GEN_IPADD;
  }
  GENERAL_NAMES_free(names);
  EXPECT_EQ(dns, 2);
  EXPECT_EQ(ips, 3);

  // Usable by both ends of mutual TLS.
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_CLIENT, 0), 1);
}

TEST_F(X509Test, SelfSignedCertificateWithoutNamesHasNoSubjectAltName) {
  const auto [cert_pem, key_pem] = crypto::self_signed_certificate("bare", {}, 1);
  const auto cert = parse_pem(cert_pem);
  EXPECT_EQ(X509_get_ext_by_NID(cert.get(), NID_subject_alt_name, -1), -1);
  ASSERT_TRUE(crypto::identity_of_pem(cert_pem));
  EXPECT_TRUE(crypto::certificate_matches_key(cert_pem, key_pem));
}

// ---------------------------------------------------------------- identity_of_pem / _der

TEST_F(X509Test, IdentityOfGarbageIsNothing) {
  const auto [cert_pem, key_pem] = crypto::self_signed_certificate("cp", {"cp"}, 1);
  for (const std::string& text : {std::string(), std::string("garbage"),
                                  std::string("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
                                  cert_pem.substr(0, cert_pem.size() / 2), key_pem}) {
    EXPECT_FALSE(crypto::identity_of_pem(text).has_value()) << text;
  }
  const auto der = der_of_pem(cert_pem);
  for (const std::string& bytes :
       {std::string(), std::string("garbage"), der.substr(0, der.size() - 1), der.substr(1), cert_pem}) {
    EXPECT_FALSE(crypto::identity_of_der(bytes).has_value());
  }
}

TEST_F(X509Test, IdentityLinksALeafToItsCa) {
  const auto ca = issue_ca("Unit Test CA");
  const auto leaf = issue("dp-1", &ca, {});
  const auto ca_id = crypto::identity_of_pem(ca.pem());
  const auto leaf_id = crypto::identity_of_der(leaf.der());
  ASSERT_TRUE(ca_id && leaf_id);
  EXPECT_TRUE(ca_id->is_ca);
  EXPECT_FALSE(leaf_id->is_ca);
  EXPECT_EQ(leaf_id->issuer_hex, ca_id->subject_hex);
  EXPECT_NE(leaf_id->subject_hex, ca_id->subject_hex);
  EXPECT_NE(leaf_id->subject_text.find("dp-1"), std::string::npos) << leaf_id->subject_text;
  EXPECT_NE(leaf_id->sha256_hex, ca_id->sha256_hex);
  // not_after is the certificate's.
  EXPECT_NEAR(static_cast<double>(leaf_id->not_after), static_cast<double>(now_seconds() + 86400), 60.0);
}

// ---------------------------------------------------------------- verify_chain

TEST_F(X509Test, LeafVerifiesAgainstItsCa) {
  const auto ca = issue_ca("Unit Test CA");
  const auto leaf = issue("dp-1", &ca, {});
  std::string error;
  EXPECT_TRUE(verify(leaf, {}, {ca.pem()}, 4, error)) << error;
  // Among other CAs too.
  const auto other = issue_ca("Other CA");
  EXPECT_TRUE(verify(leaf, {}, {other.pem(), ca.pem()}, 4, error)) << error;
}

TEST_F(X509Test, LeafFailsAgainstAnotherCa) {
  const auto ca = issue_ca("Unit Test CA");
  const auto leaf = issue("dp-1", &ca, {});
  std::string error;
  const auto other = issue_ca("Other CA");
  EXPECT_FALSE(verify(leaf, {}, {other.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
  // A CA with the very same name but another key: the signature decides.
  const auto impostor = issue_ca("Unit Test CA");
  ASSERT_EQ(crypto::identity_of_pem(impostor.pem())->subject_hex, crypto::identity_of_pem(ca.pem())->subject_hex);
  EXPECT_FALSE(verify(leaf, {}, {impostor.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
  // No CA at all.
  EXPECT_FALSE(verify(leaf, {}, {}, 4, error));
  EXPECT_FALSE(error.empty());
  // Unreadable CA PEMs are skipped, not trusted.
  EXPECT_FALSE(verify(leaf, {}, {"garbage"}, 4, error));
  EXPECT_FALSE(error.empty());
}

TEST_F(X509Test, ExpiredOrNotYetValidLeafFails) {
  const auto ca = issue_ca("Unit Test CA");
  std::string error;
  const auto expired = issue("dp-old", &ca, {.not_before = -10 * 86400, .not_after = -86400});
  EXPECT_FALSE(verify(expired, {}, {ca.pem()}, 4, error));
  EXPECT_NE(error.find("expired"), std::string::npos) << error;

  const auto future = issue("dp-future", &ca, {.not_before = 86400, .not_after = 10 * 86400});
  EXPECT_FALSE(verify(future, {}, {ca.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
}

TEST_F(X509Test, ExpiredCaFails) {
  const auto ca = issue("Old CA", nullptr, {.ca = true, .not_before = -10 * 86400, .not_after = -86400});
  const auto leaf = issue("dp-1", &ca, {});
  std::string error;
  EXPECT_FALSE(verify(leaf, {}, {ca.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
}

TEST_F(X509Test, LeafMustBeAClientCertificate) {
  const auto ca = issue_ca("Unit Test CA");
  std::string error;
  const auto server_only = issue("server", &ca, {.ext_key_usage = "serverAuth"});
  EXPECT_FALSE(verify(server_only, {}, {ca.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
  const auto any = issue("dp-any", &ca, {.ext_key_usage = nullptr});  // no EKU: any use
  EXPECT_TRUE(verify(any, {}, {ca.pem()}, 4, error)) << error;
}

TEST_F(X509Test, ACertificateThatIsNotACaCannotSign) {
  // The listener's own kind of certificate (CA:FALSE) used as an issuer.
  auto issuer = issue("not-a-ca", nullptr, {});
  const auto leaf = issue("dp-1", &issuer, {});
  std::string error;
  EXPECT_FALSE(verify(leaf, {}, {issuer.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
}

TEST_F(X509Test, IntermediateChainVerifies) {
  const auto root = issue_ca("Root CA");
  const auto intermediate = issue_ca("Intermediate CA", &root);
  const auto leaf = issue("dp-1", &intermediate, {});
  std::string error;
  EXPECT_TRUE(verify(leaf, {intermediate.der()}, {root.pem()}, 4, error)) << error;
  // Without the intermediate the chain cannot be built.
  EXPECT_FALSE(verify(leaf, {}, {root.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
  // Unreadable intermediates are ignored; the readable one still counts.
  EXPECT_TRUE(verify(leaf, {"garbage", intermediate.der()}, {root.pem()}, 4, error)) << error;
  // An intermediate of another root does not help.
  const auto other_root = issue_ca("Other Root");
  EXPECT_FALSE(verify(leaf, {intermediate.der()}, {other_root.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
}

// `depth` is OpenSSL's (nginx's ssl_verify_depth): the number of intermediate CAs allowed
// between the leaf and the trusted CA.
TEST_F(X509Test, DepthLimitIsRespected) {
  const auto root = issue_ca("Root CA");
  const auto first = issue_ca("Intermediate 1", &root);
  const auto second = issue_ca("Intermediate 2", &first);
  const auto leaf = issue("dp-1", &second, {});
  const std::vector<std::string> intermediates = {second.der(), first.der()};
  std::string error;
  EXPECT_TRUE(verify(leaf, intermediates, {root.pem()}, 4, error)) << error;
  EXPECT_TRUE(verify(leaf, intermediates, {root.pem()}, 2, error)) << error;
  EXPECT_FALSE(verify(leaf, intermediates, {root.pem()}, 1, error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(verify(leaf, intermediates, {root.pem()}, 0, error));
  EXPECT_FALSE(error.empty());

  // A leaf signed directly by the trusted CA needs no intermediate at all.
  const auto direct = issue("dp-2", &root, {});
  EXPECT_TRUE(verify(direct, {}, {root.pem()}, 0, error)) << error;
}

TEST_F(X509Test, UnreadableLeafFails) {
  std::string error;
  const auto ca = issue_ca("Unit Test CA");
  EXPECT_FALSE(crypto::verify_chain("garbage", {}, {ca.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(ERR_peek_error(), 0ul) << "the parse failure was left on OpenSSL's queue";
  error.clear();
  EXPECT_FALSE(crypto::verify_chain("", {}, {ca.pem()}, 4, error));
  EXPECT_FALSE(error.empty());
}

TEST_F(X509Test, ErrorIsSetOnlyOnFailure) {
  const auto ca = issue_ca("Unit Test CA");
  const auto leaf = issue("dp-1", &ca, {});
  std::string error;
  EXPECT_TRUE(crypto::verify_chain(leaf.der(), {}, {ca.pem()}, 4, error));
  EXPECT_EQ(error, "");
}

}  // namespace
