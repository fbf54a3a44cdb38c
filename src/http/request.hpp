#pragma once
// The transport-neutral request and response that flow between the HTTP server and the
// application. Keeping Beast out of these types keeps Beast's compile cost in one file and
// lets tests and fuzzers drive the application without sockets.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ok::http {

// Query parameters in order of appearance, percent-decoded.
using QueryParams = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string target;  // as received: path and query
  std::string path;    // percent-decoded path, without the query
  QueryParams query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string remote_address;
  std::uint64_t trace_id = 0;
  bool target_valid = true;  // false when the target could not be parsed

  std::optional<std::string_view> header(std::string_view lower_name) const {
    for (const auto& [name, value] : headers) {
      if (name == lower_name) return value;
    }
    return std::nullopt;
  }
};

struct Response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close_connection = false;
};

}  // namespace ok::http
