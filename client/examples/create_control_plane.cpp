// The example of docs/CLIENT.md: creates a control plane and handles each class of error.
// Usage: client_example_create_control_plane URL TOKEN NAME
#include <cstdio>
#include <string>

#include "openkonnect/client/client.hpp"

using namespace openkonnect::client;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s URL TOKEN NAME\n", argv[0]);
    return 2;
  }
  // docs/CLIENT.md and README.md show the lines between the markers verbatim (tests/e2e/
  // test_client_library.py checks), one case a line; a malformed URL is an Error as well.
  // clang-format off
  // --- example ---
  auto client = Client::connect({.base_url = argv[1], .token = argv[2]});
  if (auto cp = client ? client->create_control_plane({{"name", argv[3]}}) : client.error()) return std::printf("created %s\n", cp->at("id").as_string().c_str()), 0;
  else switch (const Error& e = cp.error(); e.kind) {
    case ErrorKind::BadRequest: for (const auto& p : e.invalid_parameters) std::printf("%s (%s): %s\n", p.field.c_str(), p.rule.c_str(), p.reason.c_str()); break;
    case ErrorKind::Unauthorized: std::puts("the token is invalid, expired or revoked"); break;
    case ErrorKind::Forbidden: std::printf("a role is missing: %s\n", e.detail.c_str()); break;
    case ErrorKind::Conflict: std::printf("the name is taken: %s\n", e.detail.c_str()); break;
    case ErrorKind::TooManyRequests: std::printf("still rate limited; retry in %d s\n", e.retry_after.value_or(1)); break;
    case ErrorKind::ServerError: case ErrorKind::Unavailable: std::printf("server failure, trace %s\n", e.instance.c_str()); break;
    default: std::printf("%s\n", e.to_string().c_str()); }  // NotFound, OtherStatus, Transport
  // --- end of example ---
  // clang-format on
  return 1;
}
