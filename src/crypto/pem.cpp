#include "crypto/pem.hpp"

#include "crypto/openssl_handles.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/json/parse.hpp>

#include <memory>

namespace ok::crypto {
namespace {

using handles::Bio;
using handles::Cert;
using handles::Key;

Bio memory(std::string_view text) { return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size()))); }

// OpenSSL keeps errors in a per-thread queue: take the last reason and leave it empty.
std::string last_error(std::string_view fallback) {
  unsigned long code = 0;
  unsigned long last = 0;
  while ((code = ERR_get_error()) != 0) last = code;
  if (last == 0) return std::string(fallback);
  const char* reason = ERR_reason_error_string(last);
  return reason ? std::string(reason) : std::string(fallback);
}

Cert read_certificate(std::string_view pem) {
  auto bio = memory(pem);
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

Key read_private(std::string_view pem) {
  auto bio = memory(pem);
  return Key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

Key read_public(std::string_view pem) {
  auto bio = memory(pem);
  Key key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key) return key;
  ERR_clear_error();
  return read_private(pem);
}

std::string type_name(const EVP_PKEY* key) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      return "RSA";
    case EVP_PKEY_RSA_PSS:
      return "RSA-PSS";
    case EVP_PKEY_EC:
      return "EC";
    case EVP_PKEY_ED25519:
      return "ED25519";
    case EVP_PKEY_ED448:
      return "ED448";
    case EVP_PKEY_DSA:
      return "DSA";
    default:
      return "other";
  }
}

std::string hex(const unsigned char* data, unsigned int n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (unsigned int i = 0; i < n; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

std::string digest_hex(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(data.data(), data.size(), out, &n, md, nullptr);
  return hex(out, n);
}

int count_blocks(std::string_view pem) {
  int n = 0;
  std::size_t pos = 0;
  while ((pos = pem.find("-----BEGIN CERTIFICATE-----", pos)) != std::string_view::npos) {
    ++n;
    pos += 10;
  }
  return n;
}

}  // namespace

std::optional<CertificateInfo> inspect_certificate(std::string_view pem, std::string& error) {
  auto cert = read_certificate(pem);
  if (!cert) {
    error = "invalid certificate: " + last_error("not a PEM certificate");
    return std::nullopt;
  }
  ERR_clear_error();
  CertificateInfo info;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert.get(), EVP_sha256(), md, &n);
  info.sha256_hex = hex(md, n);
  if (EVP_PKEY* key = X509_get0_pubkey(cert.get())) info.key_type = type_name(key);
  info.is_ca = X509_check_ca(cert.get()) >= 1 && (X509_get_extension_flags(cert.get()) & EXFLAG_CA);
  info.expired = X509_cmp_current_time(X509_get0_notAfter(cert.get())) < 0;
  info.pem_blocks = count_blocks(pem);
  return info;
}

std::string private_key_problem(std::string_view pem) {
  auto key = read_private(pem);
  if (key) return {};
  return "invalid key: " + last_error("not a PEM private key");
}

std::string public_key_problem(std::string_view pem) {
  auto key = read_public(pem);
  if (key) return {};
  return "invalid key: " + last_error("not a PEM public key");
}

std::string key_type(std::string_view pem) {
  auto key = read_public(pem);
  ERR_clear_error();
  return key ? type_name(key.get()) : std::string();
}

bool certificate_matches_key(std::string_view certificate_pem, std::string_view private_key_pem) {
  auto cert = read_certificate(certificate_pem);
  auto key = read_private(private_key_pem);
  // After the check: X509_check_private_key reports a mismatch on the error queue too.
  const bool match = cert && key && X509_check_private_key(cert.get(), key.get()) == 1;
  ERR_clear_error();
  return match;
}

bool keys_match(std::string_view public_key_pem, std::string_view private_key_pem) {
  auto pub = read_public(public_key_pem);
  auto priv = read_private(private_key_pem);
  ERR_clear_error();
  return pub && priv && EVP_PKEY_eq(pub.get(), priv.get()) == 1;
}

std::string jwk_problem(std::string_view jwk) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(jwk, ec);
  if (ec || !parsed.is_object()) return "could not load JWK: not a JSON object";
  const auto& o = parsed.get_object();
  const auto* kty = o.if_contains("kty");
  if (!kty || !kty->is_string()) return "could not load JWK: missing 'kty'";
  auto has = [&](std::string_view member) {
    const auto* v = o.if_contains(member);
    return v && v->is_string() && !v->get_string().empty();
  };
  const std::string_view type = kty->get_string();
  if (type == "RSA") return has("n") && has("e") ? "" : "could not load JWK: an RSA key needs 'n' and 'e'";
  if (type == "EC") {
    return has("crv") && has("x") && has("y") ? "" : "could not load JWK: an EC key needs 'crv', 'x' and 'y'";
  }
  if (type == "OKP") return has("crv") && has("x") ? "" : "could not load JWK: an OKP key needs 'crv' and 'x'";
  if (type == "oct") return has("k") ? "" : "could not load JWK: a symmetric key needs 'k'";
  return "could not load JWK: unsupported 'kty'";
}

std::string sha256_hex(std::string_view data) { return digest_hex(EVP_sha256(), data); }
std::string sha1_hex(std::string_view data) { return digest_hex(EVP_sha1(), data); }

}  // namespace ok::crypto
