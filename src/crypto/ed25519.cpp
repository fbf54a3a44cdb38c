#include "crypto/ed25519.hpp"

#include "crypto/openssl_handles.hpp"

#include <openssl/pem.h>

#include <memory>
#include <stdexcept>

namespace ok::crypto {
namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, handles::Deleter<EVP_MD_CTX_free>>;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

Ed25519KeyPair generate_ed25519() {
  handles::Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) throw std::runtime_error("Ed25519 key generation failed");
  handles::Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("Ed25519 key encoding failed");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  Ed25519KeyPair pair{.private_pem = std::string(data, static_cast<std::size_t>(size))};
  std::size_t length = 32;
  pair.public_raw.resize(length);
  if (EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(pair.public_raw.data()), &length) != 1) {
    throw std::runtime_error("Ed25519 public key export failed");
  }
  pair.public_raw.resize(length);
  return pair;
}

struct Ed25519Signer::Key {
  handles::Key pkey;
};

Ed25519Signer::Ed25519Signer(const std::string& private_pem) : key_(std::make_unique<Key>()) {
  handles::Bio bio(BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size())));
  key_->pkey.reset(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key_->pkey || EVP_PKEY_get_base_id(key_->pkey.get()) != EVP_PKEY_ED25519) {
    throw std::runtime_error("not an Ed25519 key");
  }
}

Ed25519Signer::~Ed25519Signer() = default;

std::string Ed25519Signer::sign(std::string_view message) const {
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(64, '\0');
  std::size_t length = signature.size();
  // Ed25519 signs the message itself (no digest): the one-shot EVP_DigestSign.
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, bytes(message),
                     message.size()) != 1) {
    throw std::runtime_error("Ed25519 signing failed");
  }
  signature.resize(length);
  return signature;
}

std::string ed25519_sign(const std::string& private_pem, std::string_view message) {
  return Ed25519Signer(private_pem).sign(message);
}

bool ed25519_verify(std::string_view public_raw, std::string_view message, std::string_view signature) {
  handles::Key key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(public_raw), public_raw.size()));
  if (!key) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), bytes(signature), signature.size(), bytes(message), message.size()) == 1;
}

}  // namespace ok::crypto
