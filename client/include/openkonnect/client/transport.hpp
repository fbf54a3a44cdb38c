// Transport: sends one HTTP request and returns its answer, whatever the status. It knows
// nothing of the Konnect contract (retries, tokens and error classes are the Client's job), so
// tests can put a fake in its place and the real one stays a thin layer over Boost.Beast.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "openkonnect/client/result.hpp"

namespace openkonnect::client {

/// The HTTP methods the Konnect API uses.
enum class Method { Get, Head, Post, Put, Patch, Delete };

/// The method's name on the wire (`"GET"`).
std::string_view to_string(Method method);

/// True for the methods whose repetition has the effect of one request (GET, HEAD, PUT,
/// DELETE), which the Client may therefore resend after a failure it cannot see through.
bool is_idempotent(Method method);

/// Header names are compared case-insensitively; the first match wins.
using Headers = std::vector<std::pair<std::string, std::string>>;

/// The value of header `name` in `headers`, or an empty view.
std::string_view find_header(const Headers& headers, std::string_view name);

/// One request. `target` is the path and query (`/v2/control-planes?page[size]=10`), already
/// percent-encoded; the transport adds its base URL's host and any path prefix.
struct Request {
  Method method = Method::Get;
  std::string target;
  Headers headers;                           ///< sent as given (the Client adds Authorization, Accept, Content-Type).
  std::string body;                          ///< sent when non-empty.
  std::chrono::milliseconds timeout{30000};  ///< for the whole exchange: connect, TLS, write, read.
};

/// An HTTP answer of any status.
struct Response {
  int status = 0;
  Headers headers;
  std::string body;
};

/// Sends requests. Implementations must be safe to call from several threads at once.
class Transport {
 public:
  virtual ~Transport() = default;
  /// Sends `request` and waits for its answer. Returns the response for every status (a 500
  /// is a response, not an error), or an Error of kind Transport when no complete HTTP answer
  /// arrived (connect, TLS, timeout, malformed HTTP).
  virtual Result<Response> send(const Request& request) = 0;
};

/// Settings of the real transport.
struct HttpTransportOptions {
  /// `http://host[:port][/prefix]` or `https://…`. The prefix, if any, goes before every target.
  std::string base_url;
  /// HTTPS: verify the server's certificate chain and host name (leave on outside tests).
  bool verify_peer = true;
  /// HTTPS: a PEM file of trusted CA certificates; empty means the system's default store.
  std::string ca_file;
  /// Idle keep-alive connections kept for reuse; more concurrent requests open more
  /// connections, and those beyond this number are closed after use.
  std::size_t max_idle_connections = 8;
  /// The User-Agent header.
  std::string user_agent = "openkonnect-client/0.1";
};

/// The real transport: HTTP/1.1 over TCP, or over TLS (OpenSSL; SNI sent, peer verified by
/// default) for `https` base URLs, with a small pool of keep-alive connections.
/// Returns an Error of kind Transport (TransportFailure::Connect for a bad base URL, Tls for an
/// unusable CA file) when the options cannot work; no connection is made here.
/// Thread-safe: one instance serves any number of threads; each request uses a connection of
/// its own for its duration.
Result<std::shared_ptr<Transport>> make_http_transport(const HttpTransportOptions& options);

}  // namespace openkonnect::client
