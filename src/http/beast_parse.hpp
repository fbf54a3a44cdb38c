#pragma once
// The request-parsing rules shared by the socket server (http/server.cpp) and the in-memory
// parser (http/parse.cpp), so both answer the same bytes alike. Internal to src/http: the
// only header outside server.cpp that names Beast types.

#include "errors/api_error.hpp"
#include "http/parse.hpp"
#include "http/request.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>
#include <string>

namespace ok::http::detail {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// Applies the header and body limits to a fresh parser.
void apply_limits(RequestParser& parser, const ParseLimits& limits);

// Beast applies header_limit per parse step, so a header block that arrives in one piece can
// exceed it; the bytes consumed while reading the header are exact.
bool header_too_large(std::size_t consumed, const ParseLimits& limits);

// Framing and target rules of RFC 9112 that Beast leaves to the application, checked once
// the header is read: an HTTP/1.1 request has exactly one Host; a request body is delimited
// by Content-Length or by a final "chunked" coding (anything else cannot be framed safely);
// the target is in origin form ("/path?query"). Empty when the header is acceptable.
std::string framing_problem(const RequestParser& parser);

// The 400 for a framing problem.
errors::ApiError malformed_request(std::string reason);

// What to answer for a read error: nullopt when the client went away or was too slow
// (nothing to answer), else the 431, 413 or 400.
std::optional<errors::ApiError> read_error(boost::beast::error_code ec, const ParseLimits& limits);

// Method and target of a request whose header is read (for logging a failed request).
void fill_partial(const RequestParser& parser, Request& request);

// Moves a complete message into `request` (method, target, lower-cased headers, body).
void fill_request(RequestParser::value_type&& message, Request& request);

}  // namespace ok::http::detail
