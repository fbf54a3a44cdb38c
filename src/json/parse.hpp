#pragma once
// Parses a request body as JSON with bounded nesting, reporting where a malformed body
// goes wrong. Failures are 400s with rule `invalid` on field `body`, whose reason names the
// problem and its line and column, so a client can find the mistake without guessing.

#include <boost/json/value.hpp>
#include <string_view>

namespace ok::json {

inline constexpr std::size_t kDefaultMaxDepth = 64;

// Throws errors::ApiError (400) when `text` is not a single well-formed JSON value, is nested
// deeper than `max_depth`, or contains invalid UTF-8.
boost::json::value parse_body(std::string_view text, std::size_t max_depth = kDefaultMaxDepth);

}  // namespace ok::json
