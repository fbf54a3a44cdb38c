#include "crypto/x509.hpp"

#include "crypto/openssl_handles.hpp"

#include <fmt/format.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include <memory>
#include <stdexcept>

namespace ok::crypto {
namespace {

using handles::Bio;
using handles::Cert;
using handles::Key;
using handles::Store;
using handles::StoreCtx;

std::string hex(const unsigned char* data, std::size_t size) {
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) out += fmt::format("{:02x}", data[i]);
  return out;
}

std::string name_hex(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  std::size_t size = 0;
  if (X509_NAME_get0_der(const_cast<X509_NAME*>(name), &der, &size) != 1) return {};
  return hex(der, size);
}

std::string name_text(const X509_NAME* name) {
  Bio bio(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

Cert from_der(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return Cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

Cert from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

std::optional<CertificateIdentity> identity(X509* cert) {
  if (!cert) {
    ERR_clear_error();
    return std::nullopt;
  }
  CertificateIdentity id;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  id.sha256_hex = hex(md, n);
  id.subject_hex = name_hex(X509_get_subject_name(cert));
  id.issuer_hex = name_hex(X509_get_issuer_name(cert));
  id.subject_text = name_text(X509_get_subject_name(cert));
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1) id.not_after = timegm(&tm);
  id.is_ca = X509_check_ca(cert) != 0;
  return id;
}

}  // namespace

std::optional<CertificateIdentity> identity_of_pem(std::string_view pem) { return identity(from_pem(pem).get()); }
std::optional<CertificateIdentity> identity_of_der(std::string_view der) { return identity(from_der(der).get()); }

bool verify_chain(std::string_view leaf_der, const std::vector<std::string>& intermediates_der,
                  const std::vector<std::string>& ca_pems, int depth, std::string& error) {
  auto leaf = from_der(leaf_der);
  if (!leaf) {
    ERR_clear_error();  // d2i's complaint: the caller's next TLS call must not see it
    error = "unreadable client certificate";
    return false;
  }
  Store store(X509_STORE_new());
  for (const auto& pem : ca_pems) {
    if (auto ca = from_pem(pem)) X509_STORE_add_cert(store.get(), ca.get());
  }
  struct StackFree {
    void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
  };
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  std::vector<Cert> owned;
  for (const auto& der : intermediates_der) {
    if (auto c = from_der(der)) {
      sk_X509_push(untrusted.get(), c.get());
      owned.push_back(std::move(c));
    }
  }
  StoreCtx ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), untrusted.get());
  X509_STORE_CTX_set_depth(ctx.get(), depth);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  const bool ok = X509_verify_cert(ctx.get()) == 1;
  if (!ok) error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  ERR_clear_error();
  return ok;
}

std::pair<std::string, std::string> self_signed_certificate(const std::string& common_name,
                                                            const std::vector<std::string>& names, int days) {
  Key key(EVP_EC_gen("secp384r1"));
  if (!key) throw std::runtime_error("cannot generate an EC P-384 key");
  Cert cert(X509_new());
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;  // a positive serial number
  std::unique_ptr<BIGNUM, handles::Deleter<BN_free>> bn(BN_bin2bn(serial, sizeof serial, nullptr));
  BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key.get());
  auto* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);

  std::string alt;
  for (const auto& n : names) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(n, ec);
    alt += fmt::format("{}{}:{}", alt.empty() ? "" : ",", ec ? "DNS" : "IP", n);
  }
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::pair<int, std::string> extensions[] = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_alt_name, alt},
  };
  for (const auto& [nid, value] : extensions) {
    if (value.empty()) continue;
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
    if (!ext) throw std::runtime_error("cannot build the certificate's extensions");
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert.get(), key.get(), EVP_sha384()) == 0) throw std::runtime_error("cannot sign the certificate");

  Bio cert_bio(BIO_new(BIO_s_mem()));
  Bio key_bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(cert_bio.get(), cert.get());
  PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  auto text = [](BIO* b) {
    char* data = nullptr;
    const long size = BIO_get_mem_data(b, &data);
    return std::string(data, static_cast<std::size_t>(size));
  };
  return {text(cert_bio.get()), text(key_bio.get())};
}

}  // namespace ok::crypto
