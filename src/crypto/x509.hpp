#pragma once
// Certificates as the cluster listener needs them: who a data plane's client certificate is
// (its digest, subject, issuer, expiry), whether it chains to a control plane's CA, and the
// listener's own self-signed identity. OpenSSL types stay inside the .cpp: certificates cross
// this interface as PEM text or DER bytes.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ok::crypto {

struct CertificateIdentity {
  std::string sha256_hex;   // of the DER encoding: what a pin matches
  std::string subject_hex;  // hex of the DER subject name
  std::string issuer_hex;   // hex of the DER issuer name: equals its CA's subject_hex
  std::string subject_text; // one-line subject, for logs ("CN=dp-1")
  std::int64_t not_after = 0;  // epoch seconds
  bool is_ca = false;
};

std::optional<CertificateIdentity> identity_of_pem(std::string_view pem);
std::optional<CertificateIdentity> identity_of_der(std::string_view der);

// True when the certificate `leaf_der` chains, through `intermediates_der` (what the client
// sent), to one of `ca_pems`, with at most `depth` intermediate CAs between the leaf and the
// trusted CA (OpenSSL's and nginx's verify depth: 0 means signed directly by a trusted CA),
// each certificate in its validity period. Otherwise false with `error` set to OpenSSL's reason.
bool verify_chain(std::string_view leaf_der, const std::vector<std::string>& intermediates_der,
                  const std::vector<std::string>& ca_pems, int depth, std::string& error);

// A self-signed EC P-384 certificate (Kong's `hybrid gen_cert` makes the same kind) and its key,
// as PEM: the named host names and IP addresses go into subjectAltName.
std::pair<std::string, std::string> self_signed_certificate(const std::string& common_name,
                                                            const std::vector<std::string>& names, int days);

}  // namespace ok::crypto
