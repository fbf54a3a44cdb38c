#include "http/parse.hpp"

#include "http/beast_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <fmt/format.h>

#include <cctype>

namespace ok::http {
namespace detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

void apply_limits(RequestParser& parser, const ParseLimits& limits) {
  parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
  parser.body_limit(limits.max_body_bytes);
}

bool header_too_large(std::size_t consumed, const ParseLimits& limits) { return consumed > limits.max_header_bytes; }

std::string framing_problem(const RequestParser& parser) {
  const auto& header = parser.get();
  std::size_t hosts = 0;
  for (const auto& field : header) {
    if (field.name() == bhttp::field::host) ++hosts;
  }
  if (header.version() >= 11 && hosts != 1) return "an HTTP/1.1 request needs exactly one Host header";
  if (header.version() < 11 && hosts > 1) return "more than one Host header";
  if (header.count(bhttp::field::transfer_encoding) > 0 && !parser.chunked()) {
    return "Transfer-Encoding must end with chunked";
  }
  const auto target = header.target();
  if (target.empty() || target.front() != '/') return "the request target must be an absolute path";
  return {};
}

errors::ApiError malformed_request(std::string reason) {
  return errors::ApiError::bad_request({.field = "request", .rule = errors::Rule::invalid, .reason = std::move(reason)},
                                       "The request is not valid HTTP/1.1.");
}

std::optional<errors::ApiError> read_error(beast::error_code ec, const ParseLimits& limits) {
  if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
      ec == bhttp::error::partial_message || ec == asio::error::operation_aborted ||
      ec == asio::error::connection_reset) {
    return std::nullopt;
  }
  if (ec == bhttp::error::header_limit) return errors::ApiError::header_fields_too_large(limits.max_header_bytes);
  if (ec == bhttp::error::body_limit) return errors::ApiError::content_too_large(limits.max_body_bytes);
  // Anything else is a malformed HTTP message (bad request line, conflicting framing
  // headers, broken chunk encoding, ...).
  return malformed_request(fmt::format("malformed HTTP request: {}", ec.message()));
}

void fill_partial(const RequestParser& parser, Request& request) {
  if (!parser.is_header_done()) return;
  const auto& header = parser.get();
  request.method = std::string(header.method_string());
  request.target = std::string(header.target());
}

void fill_request(RequestParser::value_type&& message, Request& request) {
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  request.headers.clear();
  for (const auto& field : message) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    request.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  request.body = std::move(message.body());
}

}  // namespace detail

ParsedRequest parse_request(std::string_view bytes, const ParseLimits& limits) {
  namespace bhttp = boost::beast::http;
  ParsedRequest out;
  detail::RequestParser parser;
  detail::apply_limits(parser, limits);
  boost::beast::error_code ec;
  std::size_t used = 0;

  // put() until `done`, as Beast's read operations do: they call put() only with unparsed
  // bytes, and read more when it answers need_more (here: every byte is already seen).
  auto feed = [&](auto done) {
    while (!done()) {
      if (used == bytes.size()) return false;
      ec = {};
      const std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
      used += n;
      if (ec == bhttp::error::need_more) {
        ec = {};
        return false;
      }
      if (ec || n == 0) return false;
    }
    return true;
  };
  auto fail = [&](errors::ApiError error) {
    out.status = ParsedRequest::Status::failed;
    out.consumed = used;
    detail::fill_partial(parser, out.request);
    out.error = std::move(error);
    return out;
  };
  auto read_failed = [&] {
    auto error = detail::read_error(ec, limits);
    if (!error) {
      out.consumed = used;
      return out;  // incomplete: nothing to answer yet
    }
    return fail(std::move(*error));
  };

  // The header block, as the server's async_read_header reads it.
  parser.eager(false);
  const bool header_done = feed([&] { return parser.is_header_done(); });
  if (ec) return read_failed();
  if (!header_done) return out;
  if (detail::header_too_large(used, limits)) {
    ec = bhttp::error::header_limit;
    return read_failed();
  }
  if (auto problem = detail::framing_problem(parser); !problem.empty()) {
    return fail(detail::malformed_request(std::move(problem)));
  }

  // The body, as the server's async_read reads it.
  parser.eager(true);
  const bool body_done = feed([&] { return parser.is_done(); });
  if (ec) return read_failed();
  if (!body_done) {
    out.consumed = used;
    return out;
  }
  out.keep_alive = parser.get().keep_alive();
  detail::fill_request(parser.release(), out.request);
  out.status = ParsedRequest::Status::complete;
  out.consumed = used;
  return out;
}

}  // namespace ok::http
