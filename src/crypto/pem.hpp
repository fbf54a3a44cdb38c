#pragma once
// Certificates and keys as the gateway entities hold them: PEM text, parsed with OpenSSL 3.
// Each function says what is wrong with its input in a sentence fit for a 400's reason, and
// never echoes key material (a private key is never logged or repeated).

#include <optional>
#include <string>
#include <string_view>

namespace ok::crypto {

struct CertificateInfo {
  std::string sha256_hex;  // of the DER encoding, lower-case (Kong's cert_digest)
  std::string key_type;    // "RSA", "EC", "ED25519" …
  bool is_ca = false;      // basicConstraints CA:TRUE
  bool expired = false;    // notAfter in the past
  int pem_blocks = 0;      // certificates in the text
};

// nullopt with `error` set when `pem` holds no parseable certificate.
std::optional<CertificateInfo> inspect_certificate(std::string_view pem, std::string& error);

// "" when `pem` is a private key OpenSSL can read, else why not.
std::string private_key_problem(std::string_view pem);
// "" when `pem` is a public key (or a private key, whose public half counts).
std::string public_key_problem(std::string_view pem);
// The key type of a readable private or public key ("" when unreadable).
std::string key_type(std::string_view pem);

// True when the certificate's public key is the public half of `private_key_pem`.
bool certificate_matches_key(std::string_view certificate_pem, std::string_view private_key_pem);
// True when the two PEM keys are halves of one key pair.
bool keys_match(std::string_view public_key_pem, std::string_view private_key_pem);

// "" when `jwk` is a JSON Web Key OpenSSL's key types can hold (RSA, EC, OKP, oct) with the
// members its type needs, else why not.
std::string jwk_problem(std::string_view jwk);

// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// Lower-case hex SHA-1 of `data` (basic-auth passwords are stored as Kong stores them).
std::string sha1_hex(std::string_view data);

}  // namespace ok::crypto
