#pragma once
// Ed25519 key pairs and signatures (OpenSSL 3): audit log entries are signed with the
// installation's key, and receivers verify them with the public half served as a JWK.

#include <string>
#include <string_view>

namespace ok::crypto {

struct Ed25519KeyPair {
  std::string private_pem;  // PKCS#8 PEM
  std::string public_raw;   // the 32-byte public key
};

Ed25519KeyPair generate_ed25519();
// The 64-byte signature of `message`. Throws std::runtime_error on an unusable key.
std::string ed25519_sign(const std::string& private_pem, std::string_view message);
// Whether `signature` is `message`'s under the raw 32-byte public key.
bool ed25519_verify(std::string_view public_raw, std::string_view message, std::string_view signature);

}  // namespace ok::crypto
