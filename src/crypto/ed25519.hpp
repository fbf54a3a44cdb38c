#pragma once
// Ed25519 key pairs and signatures (OpenSSL 3): audit log entries are signed with the
// installation's key, and receivers verify them with the public half served as a JWK.

#include <memory>
#include <string>
#include <string_view>

namespace ok::crypto {

struct Ed25519KeyPair {
  std::string private_pem;  // PKCS#8 PEM
  std::string public_raw;   // the 32-byte public key
};

Ed25519KeyPair generate_ed25519();

// Signs with one private key, read once: reading the PEM took as long as signing, and a
// delivery signs hundreds of entries with the same key.
class Ed25519Signer {
 public:
  // Throws std::runtime_error when `private_pem` is not an Ed25519 private key.
  explicit Ed25519Signer(const std::string& private_pem);
  ~Ed25519Signer();
  Ed25519Signer(const Ed25519Signer&) = delete;
  Ed25519Signer& operator=(const Ed25519Signer&) = delete;
  // The 64-byte signature of `message`.
  std::string sign(std::string_view message) const;

 private:
  struct Key;
  std::unique_ptr<Key> key_;
};

// The same, for one message.
std::string ed25519_sign(const std::string& private_pem, std::string_view message);
// Whether `signature` is `message`'s under the raw 32-byte public key.
bool ed25519_verify(std::string_view public_raw, std::string_view message, std::string_view signature);

}  // namespace ok::crypto
