#include "json/parse.hpp"

#include "errors/api_error.hpp"

#include <boost/json/error.hpp>
#include <boost/json/stream_parser.hpp>
#include <fmt/format.h>

namespace ok::json {
namespace {

std::string describe(const boost::system::error_code& ec) {
  namespace bj = boost::json;
  if (ec == bj::error::too_deep) return "nesting is too deep";
  if (ec == bj::error::extra_data) return "unexpected data after the JSON value";
  if (ec == bj::error::incomplete) return "unexpected end of input";
  if (ec == bj::error::illegal_leading_surrogate || ec == bj::error::illegal_trailing_surrogate ||
      ec == bj::error::expected_hex_digit)
    return "invalid escape sequence";
  if (ec == bj::error::exponent_overflow) return "number out of range";
  if (ec == bj::error::object_too_large || ec == bj::error::array_too_large || ec == bj::error::key_too_large ||
      ec == bj::error::string_too_large)
    return "value too large";
  // error::syntax covers bad tokens, invalid UTF-8 and raw control characters in strings.
  return "syntax error";
}

[[noreturn]] void fail(std::string_view text, std::size_t offset, const std::string& what) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  throw errors::ApiError::bad_request(
      errors::request_format_invalid(fmt::format(
          "request format is invalid: {} at line {}, column {} (byte offset {})", what, line, column, offset)),
      "Invalid request format.");
}

}  // namespace

boost::json::value parse_body(std::string_view text, std::size_t max_depth) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw errors::ApiError::bad_request(errors::request_format_invalid("request body is empty"),
                                        "Invalid request format.");
  }
  boost::json::parse_options options;
  options.max_depth = max_depth;
  boost::json::stream_parser parser({}, options);
  boost::system::error_code ec;
  const std::size_t consumed = parser.write_some(text.data(), text.size(), ec);
  if (!ec && consumed < text.size()) {
    // write_some stops after a complete value; anything left is trailing garbage unless it
    // is whitespace.
    if (text.substr(consumed).find_first_not_of(" \t\r\n") != std::string_view::npos) {
      fail(text, consumed, "unexpected data after the JSON value");
    }
  }
  if (ec) fail(text, consumed, describe(ec));
  parser.finish(ec);
  if (ec) fail(text, text.size(), describe(ec));
  return parser.release();
}

}  // namespace ok::json
