#pragma once
// ApiError is the single vocabulary of failures that handlers speak. A handler throws one of
// the named constructors below; errors/problem.hpp turns it into application/problem+json.
// Handlers never build error bodies themselves, so every endpoint answers alike.

#include "errors/invalid_parameter.hpp"

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

namespace ok::errors {

enum class Status : unsigned {
  bad_request = 400,
  unauthorized = 401,
  forbidden = 403,
  not_found = 404,
  method_not_allowed = 405,
  conflict = 409,
  content_too_large = 413,
  unsupported_media_type = 415,
  too_many_requests = 429,
  header_fields_too_large = 431,
  internal = 500,
  unavailable = 503,
};

class ApiError : public std::exception {
 public:
  // 400: at least one invalid parameter is required (the spec's minItems 1).
  static ApiError bad_request(InvalidParameters params, std::string detail = "Invalid request");
  static ApiError bad_request(InvalidParameter param, std::string detail = "Invalid request");
  static ApiError unauthenticated();       // no token sent
  static ApiError invalid_credentials();   // any token that does not authenticate
  static ApiError unauthorized(std::string detail);  // credentials other than a token (a data plane's certificate)
  static ApiError forbidden(std::string detail);
  static ApiError not_found(std::string detail = "Not found.");
  static ApiError method_not_allowed(std::vector<std::string> allowed);
  static ApiError conflict(std::string detail);
  static ApiError content_too_large(std::uint64_t limit_bytes);
  static ApiError unsupported_media_type();
  static ApiError too_many_requests(std::uint64_t retry_after_seconds);
  static ApiError header_fields_too_large(std::uint64_t limit_bytes);
  static ApiError internal();
  static ApiError unavailable(std::string detail = "The service is temporarily unavailable.");

  Status status() const { return status_; }
  const std::string& detail() const { return detail_; }
  const InvalidParameters& invalid_parameters() const { return invalid_parameters_; }
  std::uint64_t retry_after_seconds() const { return retry_after_seconds_; }
  const std::vector<std::string>& allowed_methods() const { return allowed_methods_; }
  const char* what() const noexcept override { return detail_.c_str(); }

 private:
  ApiError(Status status, std::string detail) : status_(status), detail_(std::move(detail)) {}

  Status status_;
  std::string detail_;
  InvalidParameters invalid_parameters_;
  std::uint64_t retry_after_seconds_ = 0;
  std::vector<std::string> allowed_methods_;
};

std::string_view status_title(Status status);

// Helpers for the most common single-parameter 400s.
InvalidParameter invalid_path_id(std::string field);
InvalidParameter request_format_invalid(std::string reason);

}  // namespace ok::errors
