// Error: what went wrong with one call, as data. A caller decides by `kind` and reads the
// fields it needs (the invalid parameters of a 400, the seconds of a 429, the trace id of a
// 5xx); nothing here is meant to be parsed out of a message.
//
// The kinds are the classes of the Konnect error contract (../shared/konnect/README.md): one
// per status the contract gives a meaning, plus the failures that happen before there is a
// status at all (the network, TLS, a timeout, an answer that is not HTTP or not JSON).
//
// Thread-safety: a plain value; distinct objects may be used from any threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>

namespace openkonnect::client {

/// The class of a failure. Each server class maps from its HTTP status; `Transport` has none.
enum class ErrorKind {
  BadRequest,       ///< 400: the request is invalid; `invalid_parameters` says where and why.
  Unauthorized,     ///< 401: no token, or one that is unknown, expired or revoked.
  Forbidden,        ///< 403: the principal lacks the role; `detail` names it.
  NotFound,         ///< 404: no such resource in the caller's organization (or no such path).
  Conflict,         ///< 409: the request contradicts the state (a taken name, a non-empty group).
  TooManyRequests,  ///< 429: over a rate-limit budget; not processed; `retry_after` says when to retry.
  ServerError,      ///< 500 and other 5xx but 502/503/504: the server failed; quote `instance`.
  Unavailable,      ///< 502, 503, 504: the service is down for now; `retry_after` when the server sent it.
  OtherStatus,      ///< any other non-2xx status (405, 413, 415, 431 …): a request this library should not send.
  Transport,        ///< no usable HTTP answer: see `transport`.
};

/// For ErrorKind::Transport, the step that failed.
enum class TransportFailure {
  None,      ///< not a transport failure.
  Connect,   ///< name resolution or TCP connect failed, or the connection broke.
  Tls,       ///< the TLS handshake failed (certificate not trusted, wrong host name, protocol).
  Timeout,   ///< the request's deadline passed before the whole answer arrived.
  Protocol,  ///< the answer was not valid HTTP, or a success body was not the JSON expected.
};

/// One entry of a 400's `invalid_parameters`: which input was wrong, by which rule, and why.
/// The optional members are those of the five InvalidParameter* shapes of the contract.
struct InvalidParameter {
  std::string field;   ///< e.g. `name`, `labels.env`, `[filter][name][gt]`, `controlPlaneId`.
  std::string rule;    ///< one of the contract's rule names (`required`, `enum`, `min_length` …); empty when absent.
  std::string reason;  ///< a human-readable sentence fragment.
  std::string source;  ///< `body`, `query` or `path`; empty when absent (the contract then means the body).
  boost::json::array choices;                          ///< for `enum`: the accepted values.
  std::optional<std::int64_t> minimum;                 ///< for `min*` rules.
  std::optional<std::int64_t> maximum;                 ///< for `max*` rules.
  std::optional<std::vector<std::string>> dependents;  ///< for `dependent_fields`.
};

/// A failed call. `status` is 0 for transport failures. `title`, `detail` and `instance` are
/// the problem+json body's, empty when the body did not have them (an answer from a proxy).
struct Error {
  ErrorKind kind = ErrorKind::Transport;                ///< the class: what the caller decides on.
  TransportFailure transport = TransportFailure::None;  ///< for kind Transport, the step that failed.
  int status = 0;                                       ///< the HTTP status; 0 when none arrived.
  std::string title;                                    ///< fixed per status (`Bad Request`).
  std::string detail;                                   ///< for transport failures, what the network layer said.
  std::string instance;  ///< the trace id, `kong:trace:<n>`; falls back to the X-Kong-Request-Id header.
  std::vector<InvalidParameter> invalid_parameters;  ///< BadRequest only; may be empty if the body was not JSON.
  std::optional<int> retry_after;  ///< seconds, from the Retry-After header (429, and 503 where sent).
  int attempts = 1;                ///< how many times the request was sent before giving up.

  /// One line for logs: kind, status, detail, instance and each invalid parameter.
  std::string to_string() const;
};

/// The class of a non-2xx status.
ErrorKind kind_of_status(int status);

/// The name of a kind, as in the enum (`"BadRequest"`).
std::string_view to_string(ErrorKind kind);

/// The name of a transport failure (`"Timeout"`).
std::string_view to_string(TransportFailure failure);

/// Builds the Error of a non-2xx answer from its status, its body (problem+json, or anything
/// else: a body that is not JSON, or JSON without the contract's keys, still gives the class
/// from the status) and two headers (empty when absent). Never fails.
Error error_from_response(int status, std::string_view body, std::string_view retry_after_header,
                          std::string_view request_id_header);

/// A transport failure of the given step.
Error transport_error(TransportFailure failure, std::string detail);

/// Parses a Retry-After header in delta-seconds form (`"3"`); the HTTP-date form and anything
/// else gives nullopt (openkonnect and Konnect send seconds).
std::optional<int> parse_retry_after(std::string_view header);

}  // namespace openkonnect::client
