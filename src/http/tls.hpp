#pragma once
// Server-side TLS for openkonnect's listeners (the API listener, and the data-plane cluster
// listener): one policy, so every port that carries tokens or configuration is equally strict.

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace ok::http {

// A server-side TLS context: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers only (ECDHE with
// AES-GCM / CHACHA20-POLY1305 for 1.2; the 1.3 defaults), no compression, no renegotiation,
// server cipher preference, and buffers released while a connection is idle. The first
// certificate of `certificate_chain_pem` is the server's, the others its chain (leaf first).
// Throws std::runtime_error with a clear message (never key material) when the PEM is unusable,
// the key is encrypted, or the key does not match the certificate.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& certificate_chain_pem,
                                                                   const std::string& private_key_pem);

// Reads a PEM file; throws std::runtime_error naming the file when unreadable.
std::string read_pem_file(const std::string& path);

}  // namespace ok::http
