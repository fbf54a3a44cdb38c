#include "errors/api_error.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ok::errors {

std::string_view rule_name(Rule rule) {
  switch (rule) {
    case Rule::required: return "required";
    case Rule::is_string: return "is_string";
    case Rule::is_integer: return "is_integer";
    case Rule::is_number: return "is_number";
    case Rule::is_boolean: return "is_boolean";
    case Rule::is_array: return "is_array";
    case Rule::is_object: return "is_object";
    case Rule::is_uuid: return "is_uuid";
    case Rule::is_date_time: return "is_date_time";
    case Rule::is_label: return "is_label";
    case Rule::is_null: return "is_null";
    case Rule::matches_regex: return "matches_regex";
    case Rule::unknown_property: return "unknown_property";
    case Rule::missing_reference: return "missing_reference";
    case Rule::invalid: return "invalid";
    case Rule::min_length: return "min_length";
    case Rule::max_length: return "max_length";
    case Rule::min_items: return "min_items";
    case Rule::max_items: return "max_items";
    case Rule::min: return "min";
    case Rule::max: return "max";
    case Rule::enum_: return "enum";
    case Rule::dependent_fields: return "dependent_fields";
  }
  return "invalid";
}

std::string_view source_name(Source source) {
  switch (source) {
    case Source::body: return "body";
    case Source::query: return "query";
    case Source::path: return "path";
  }
  return "body";
}

std::string_view status_title(Status status) {
  switch (status) {
    case Status::bad_request: return "Bad Request";
    case Status::unauthorized: return "Unauthorized";
    case Status::forbidden: return "Forbidden";
    case Status::not_found: return "Not Found";
    case Status::method_not_allowed: return "Method Not Allowed";
    case Status::conflict: return "Conflict";
    case Status::content_too_large: return "Content Too Large";
    case Status::unsupported_media_type: return "Unsupported Media Type";
    case Status::too_many_requests: return "Too Many Requests";
    case Status::header_fields_too_large: return "Request Header Fields Too Large";
    case Status::internal: return "Internal Server Error";
    case Status::unavailable: return "Service Unavailable";
  }
  return "Internal Server Error";
}

ApiError ApiError::bad_request(InvalidParameters params, std::string detail) {
  if (params.empty()) {
    // The contract requires a non-empty list; an empty one is a programming error that
    // must still produce a valid document.
    params.push_back({.field = "body", .rule = Rule::invalid, .reason = "request is invalid"});
  }
  // The spec declares the list uniqueItems: drop exact repeats (e.g. one bad value sent twice).
  InvalidParameters unique;
  for (auto& p : params) {
    const bool seen = std::any_of(unique.begin(), unique.end(), [&](const InvalidParameter& u) {
      return u.field == p.field && u.rule == p.rule && u.reason == p.reason && u.source == p.source;
    });
    if (!seen) unique.push_back(std::move(p));
  }
  ApiError error(Status::bad_request, std::move(detail));
  error.invalid_parameters_ = std::move(unique);
  return error;
}

ApiError ApiError::bad_request(InvalidParameter param, std::string detail) {
  InvalidParameters params;
  params.push_back(std::move(param));
  return bad_request(std::move(params), std::move(detail));
}

ApiError ApiError::unauthenticated() { return {Status::unauthorized, "A valid token is required."}; }

ApiError ApiError::invalid_credentials() { return {Status::unauthorized, "Invalid credentials."}; }

ApiError ApiError::unauthorized(std::string detail) { return {Status::unauthorized, std::move(detail)}; }

ApiError ApiError::forbidden(std::string detail) { return {Status::forbidden, std::move(detail)}; }

ApiError ApiError::not_found(std::string detail) { return {Status::not_found, std::move(detail)}; }

ApiError ApiError::method_not_allowed(std::vector<std::string> allowed) {
  ApiError error(Status::method_not_allowed, "The method is not allowed for this resource.");
  error.allowed_methods_ = std::move(allowed);
  return error;
}

ApiError ApiError::conflict(std::string detail) { return {Status::conflict, std::move(detail)}; }

ApiError ApiError::content_too_large(std::uint64_t limit_bytes) {
  return {Status::content_too_large,
          fmt::format("The request body exceeds the limit of [{}] bytes.", limit_bytes)};
}

ApiError ApiError::unsupported_media_type() {
  return {Status::unsupported_media_type,
          "This API only supports requests with [Content-Type: application/json]."};
}

ApiError ApiError::too_many_requests(std::uint64_t retry_after_seconds) {
  ApiError error(Status::too_many_requests,
                 fmt::format("Too many requests; retry after [{}] seconds.", retry_after_seconds));
  error.retry_after_seconds_ = retry_after_seconds;
  return error;
}

ApiError ApiError::header_fields_too_large(std::uint64_t limit_bytes) {
  return {Status::header_fields_too_large,
          fmt::format("The request header block exceeds the limit of [{}] bytes.", limit_bytes)};
}

ApiError ApiError::internal() {
  return {Status::internal, "An unexpected error occurred; the trace id identifies it in the server log."};
}

ApiError ApiError::unavailable(std::string detail) { return {Status::unavailable, std::move(detail)}; }

InvalidParameter invalid_path_id(std::string field) {
  return {.field = std::move(field), .rule = Rule::is_uuid, .reason = "invalid ID format", .source = Source::path};
}

InvalidParameter request_format_invalid(std::string reason) {
  return {.field = "body", .rule = Rule::invalid, .reason = std::move(reason), .source = Source::body};
}

}  // namespace ok::errors
