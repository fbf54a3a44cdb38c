#include "http/tls.hpp"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace ok::http {
namespace {

// Forward secrecy (ECDHE) and AEAD only: Mozilla's "intermediate" TLS 1.2 list without its
// finite-field DHE suites, whose parameters would be one more thing to configure.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// OpenSSL's default TLS 1.3 suites, spelled out so that a system-wide openssl.cnf cannot widen
// the policy behind our back.
constexpr const char* kTls13Suites = "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";

// A PEM file this large is not a certificate chain or a key; the bound also keeps a mistaken
// path such as /dev/zero from reading forever.
constexpr std::size_t kMaxPemBytes = 1024 * 1024;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

// OpenSSL's error queue is per thread; whatever happens here, leave it empty for the next user.
struct ClearErrorsOnExit {
  ~ClearErrorsOnExit() { ERR_clear_error(); }
};

// The reason of the most recent queued error (a fixed library string such as "no start line",
// never input bytes), or `fallback`.
std::string last_reason(const char* fallback) {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  ERR_clear_error();
  return reason ? reason : fallback;
}

Bio memory(const std::string& text) {
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) throw std::runtime_error("TLS: out of memory");
  return bio;
}

bool is_end_of_pem(unsigned long code) {
  return ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
}

std::vector<Cert> read_chain(const std::string& pem) {
  auto bio = memory(pem);
  std::vector<Cert> chain;
  while (Cert cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) chain.push_back(std::move(cert));
  // Reading stops with "no start line" once the text holds no further certificate; any other
  // error is a damaged block.
  const unsigned long code = ERR_peek_last_error();
  if (chain.empty() || (code != 0 && !is_end_of_pem(code))) {
    const std::string reason = last_reason("no PEM certificate found");
    throw std::runtime_error(
        chain.empty() ? fmt::format("the certificate file holds no usable PEM certificate ({})", reason)
                      : fmt::format("certificate {} of the chain is unreadable ({})", chain.size() + 1, reason));
  }
  ERR_clear_error();
  return chain;
}

// A server cannot type a passphrase: an encrypted key is refused instead of prompting on a
// terminal (OpenSSL's default when no callback is given).
int refuse_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

Key read_key(const std::string& pem) {
  auto bio = memory(pem);
  bool asked_for_passphrase = false;
  Key key(PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, &asked_for_passphrase));
  if (asked_for_passphrase) {
    ERR_clear_error();
    throw std::runtime_error(
        "the private key is encrypted; openkonnect needs it unencrypted (protect the file instead)");
  }
  if (!key) {
    throw std::runtime_error(
        fmt::format("the key file holds no usable PEM private key ({})", last_reason("no PEM private key found")));
  }
  return key;
}

void require(int result, const char* what) {
  if (result != 1) throw std::runtime_error(fmt::format("{} ({})", what, last_reason("rejected by OpenSSL")));
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& certificate_chain_pem,
                                                                   const std::string& private_key_pem) {
  ClearErrorsOnExit clear_errors;
  auto chain = read_chain(certificate_chain_pem);
  auto key = read_key(private_key_pem);
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    throw std::runtime_error("the private key does not match the certificate (the first one in the certificate file)");
  }

  auto context = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  require(SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION), "cannot require TLS 1.2");
  require(SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION), "cannot allow TLS 1.3");
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  require(SSL_CTX_set_cipher_list(ctx, kTls12Ciphers), "cannot set the TLS 1.2 ciphers");
  require(SSL_CTX_set_ciphersuites(ctx, kTls13Suites), "cannot set the TLS 1.3 cipher suites");
  // An idle keep-alive connection then holds no OpenSSL record buffers (Asio's engine sets this
  // on each connection too; here it holds for any user of the context). Asio's own buffers, two
  // of 17 KiB plus a 2 x 17 KiB BIO pair, stay: about 65 KiB per idle TLS connection.
  // The chain sent is the one configured: without NO_AUTO_CHAIN, OpenSSL would try to build one
  // from the context's (empty) trust store on every handshake.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);

  // The security level (a too-small RSA key, a SHA-1 signature) is checked here.
  require(SSL_CTX_use_certificate(ctx, chain.front().get()), "the certificate cannot be used");
  for (std::size_t i = 1; i < chain.size(); ++i) {
    require(static_cast<int>(SSL_CTX_add1_chain_cert(ctx, chain[i].get())), "a chain certificate cannot be used");
  }
  require(SSL_CTX_use_PrivateKey(ctx, key.get()), "the private key cannot be used");
  require(SSL_CTX_check_private_key(ctx), "the private key does not match the certificate");
  return context;
}

std::string read_pem_file(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw std::runtime_error(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::string text;
  char block[8192];
  std::size_t n = 0;
  while ((n = std::fread(block, 1, sizeof block, file)) > 0) {
    text.append(block, n);
    if (text.size() > kMaxPemBytes) {
      std::fclose(file);
      throw std::runtime_error(fmt::format("cannot read {}: larger than {} bytes, not a PEM file", path, kMaxPemBytes));
    }
  }
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) throw std::runtime_error(fmt::format("cannot read {}: {}", path, std::strerror(error)));
  return text;
}

}  // namespace ok::http
