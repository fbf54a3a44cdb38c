#include "openkonnect/client/error.hpp"

#include <charconv>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

namespace openkonnect::client {

namespace bj = boost::json;

namespace {

std::string string_member(const bj::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr || !value->is_string()) return {};
  return std::string(value->get_string());
}

std::optional<std::int64_t> integer_member(const bj::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->get_int64();
  if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    return static_cast<std::int64_t>(value->get_uint64());
  }
  // Some generators write bounds as JSON numbers with a fraction part of zero.
  if (value->is_double()) return static_cast<std::int64_t>(value->get_double());
  return std::nullopt;
}

InvalidParameter parse_invalid_parameter(const bj::object& item) {
  InvalidParameter parameter{
      .field = string_member(item, "field"),
      .rule = string_member(item, "rule"),
      .reason = string_member(item, "reason"),
      .source = string_member(item, "source"),
      .minimum = integer_member(item, "minimum"),
      .maximum = integer_member(item, "maximum"),
  };
  if (const auto* choices = item.if_contains("choices"); choices != nullptr && choices->is_array()) {
    parameter.choices = choices->get_array();
  }
  if (const auto* dependents = item.if_contains("dependents"); dependents != nullptr && dependents->is_array()) {
    std::vector<std::string> names;
    for (const auto& name : dependents->get_array()) {
      if (name.is_string()) names.emplace_back(name.get_string());
    }
    parameter.dependents = std::move(names);
  }
  return parameter;
}

}  // namespace

ErrorKind kind_of_status(int status) {
  switch (status) {
    case 400:
      return ErrorKind::BadRequest;
    case 401:
      return ErrorKind::Unauthorized;
    case 403:
      return ErrorKind::Forbidden;
    case 404:
      return ErrorKind::NotFound;
    case 409:
      return ErrorKind::Conflict;
    case 429:
      return ErrorKind::TooManyRequests;
    case 502:
    case 503:
    case 504:
      return ErrorKind::Unavailable;
    default:
      return status >= 500 && status <= 599 ? ErrorKind::ServerError : ErrorKind::OtherStatus;
  }
}

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::BadRequest:
      return "BadRequest";
    case ErrorKind::Unauthorized:
      return "Unauthorized";
    case ErrorKind::Forbidden:
      return "Forbidden";
    case ErrorKind::NotFound:
      return "NotFound";
    case ErrorKind::Conflict:
      return "Conflict";
    case ErrorKind::TooManyRequests:
      return "TooManyRequests";
    case ErrorKind::ServerError:
      return "ServerError";
    case ErrorKind::Unavailable:
      return "Unavailable";
    case ErrorKind::OtherStatus:
      return "OtherStatus";
    case ErrorKind::Transport:
      return "Transport";
  }
  return "Unknown";
}

std::string_view to_string(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::None:
      return "None";
    case TransportFailure::Connect:
      return "Connect";
    case TransportFailure::Tls:
      return "Tls";
    case TransportFailure::Timeout:
      return "Timeout";
    case TransportFailure::Protocol:
      return "Protocol";
  }
  return "Unknown";
}

std::string Error::to_string() const {
  std::string out(client::to_string(kind));
  if (kind == ErrorKind::Transport) {
    out += " (";
    out += client::to_string(transport);
    out += ")";
  } else {
    out.append(" ").append(std::to_string(status));
  }
  if (!detail.empty()) out += ": " + detail;
  for (const auto& parameter : invalid_parameters) {
    out += " [" + parameter.field;
    if (!parameter.rule.empty()) out += " " + parameter.rule;
    out += ": " + parameter.reason + "]";
  }
  if (retry_after) out.append(" retry after ").append(std::to_string(*retry_after)).append(" s");
  if (!instance.empty()) out += " (" + instance + ")";
  return out;
}

std::optional<int> parse_retry_after(std::string_view header) {
  while (!header.empty() && (header.front() == ' ' || header.front() == '\t')) header.remove_prefix(1);
  while (!header.empty() && (header.back() == ' ' || header.back() == '\t')) header.remove_suffix(1);
  if (header.empty()) return std::nullopt;
  int seconds = 0;
  const auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (ec != std::errc() || end != header.data() + header.size() || seconds < 0) return std::nullopt;
  return seconds;
}

Error error_from_response(int status, std::string_view body, std::string_view retry_after_header,
                          std::string_view request_id_header) {
  Error error{.kind = kind_of_status(status), .status = status, .retry_after = parse_retry_after(retry_after_header)};
  boost::system::error_code ec;
  const bj::value parsed = bj::parse(body, ec);
  if (!ec && parsed.is_object()) {
    const auto& problem = parsed.get_object();
    error.title = string_member(problem, "title");
    error.detail = string_member(problem, "detail");
    // Kong's own gateway clients read `message`; an answer from such a component may carry
    // only that key.
    if (error.detail.empty()) error.detail = string_member(problem, "message");
    error.instance = string_member(problem, "instance");
    if (const auto* items = problem.if_contains("invalid_parameters"); items != nullptr && items->is_array()) {
      for (const auto& item : items->get_array()) {
        if (item.is_object()) error.invalid_parameters.push_back(parse_invalid_parameter(item.get_object()));
      }
    }
  } else if (!body.empty()) {
    // A proxy's HTML page or plain text: keep a short excerpt for the logs, the class stands.
    constexpr std::size_t kExcerpt = 200;
    error.detail = std::string(body.substr(0, kExcerpt));
  }
  if (error.instance.empty() && !request_id_header.empty()) {
    error.instance = "kong:trace:" + std::string(request_id_header);
  }
  return error;
}

Error transport_error(TransportFailure failure, std::string detail) {
  return Error{.kind = ErrorKind::Transport, .transport = failure, .detail = std::move(detail)};
}

}  // namespace openkonnect::client
