#pragma once
// Parsing HTTP/1.1 requests out of bytes already in memory, with the server's limits and
// framing rules (431 for a header block over max_header_bytes, 413 for a body over
// max_body_bytes, 400 for anything that is not valid HTTP/1.1 or cannot be framed safely).
// The server reads from sockets but applies the same rules through the helpers in
// http/beast_parse.hpp; this entry point lets tests and fuzzers drive the parser without
// sockets.

#include "errors/api_error.hpp"
#include "http/request.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace ok::http {

struct ParseLimits {
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1024 * 1024;
};

struct ParsedRequest {
  enum class Status {
    complete,    // `request` holds one whole request; `consumed` bytes were used
    incomplete,  // the bytes end inside a request (a server would wait for more)
    failed,      // `error` is the answer; the server then closes the connection
  };
  Status status = Status::incomplete;
  std::size_t consumed = 0;
  // complete: method, target, headers (names lower-cased) and body. failed: method and
  // target when the header block was read, else empty.
  Request request;
  bool keep_alive = false;
  std::optional<errors::ApiError> error;
};

// Parses the first request in `bytes`.
ParsedRequest parse_request(std::string_view bytes, const ParseLimits& limits);

}  // namespace ok::http
