#include "openkonnect/client/client.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <thread>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace openkonnect::client {

namespace bj = boost::json;
using std::chrono::milliseconds;

std::string_view to_string(Method method) {
  switch (method) {
    case Method::Get:
      return "GET";
    case Method::Head:
      return "HEAD";
    case Method::Post:
      return "POST";
    case Method::Put:
      return "PUT";
    case Method::Patch:
      return "PATCH";
    case Method::Delete:
      return "DELETE";
  }
  return "GET";
}

bool is_idempotent(Method method) {
  return method == Method::Get || method == Method::Head || method == Method::Put || method == Method::Delete;
}

std::string_view find_header(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (std::equal(key.begin(), key.end(), name.begin(), name.end(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return value;
    }
  }
  return {};
}

std::string encode_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (const char c : segment) {
    const auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[byte >> 4];
      out += kHex[byte & 0xF];
    }
  }
  return out;
}

std::string with_query(std::string target, const Query& query) {
  char separator = '?';
  for (const auto& [key, value] : query) {
    target += separator;
    target += encode_segment(key);
    target += '=';
    target += encode_segment(value);
    separator = '&';
  }
  return target;
}

struct Client::State {
  Options options;
  std::shared_ptr<Transport> transport;
  mutable std::mutex token_mutex;
  std::string token;
  std::mutex random_mutex;
  std::mt19937_64 generator{std::random_device{}()};

  std::string current_token() const {
    std::lock_guard lock(token_mutex);
    return token;
  }

  double uniform() {
    if (options.random) return options.random();
    std::lock_guard lock(random_mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(generator);
  }

  // Attempt n (from 0) waits in [d/2, d], d = min(max_delay, base_delay * 2^n): "equal
  // jitter", which spreads clients out while never retrying at once.
  milliseconds backoff(int n) {
    const auto& policy = options.retry;
    const auto doubled = policy.base_delay.count() << std::min(n, 30);
    const auto ceiling = std::min<long long>(policy.max_delay.count(), doubled);
    const double half = static_cast<double>(ceiling) / 2.0;
    return milliseconds(static_cast<long long>(half + uniform() * half));
  }

  void sleep(milliseconds delay) const {
    if (options.sleep) {
      options.sleep(delay);
    } else {
      std::this_thread::sleep_for(delay);
    }
  }
};

namespace {

// Whether sending the request again cannot do it twice (see client.hpp).
bool may_retry(Method method, const Error& error) {
  if (error.kind == ErrorKind::TooManyRequests) return true;
  return is_idempotent(method) && (error.kind == ErrorKind::Unavailable || error.kind == ErrorKind::Transport);
}

Error protocol_error(std::string detail) { return transport_error(TransportFailure::Protocol, std::move(detail)); }

Result<bj::object> as_object(Result<bj::value> value) {
  if (!value) return std::move(value).error();
  if (!value->is_object()) return protocol_error("the answer is not a JSON object");
  return std::move(value->as_object());
}

Result<void> as_void(Result<Response> response) {
  if (!response) return std::move(response).error();
  return {};
}

std::string control_plane_path(std::string_view id) { return "/v2/control-planes/" + encode_segment(id); }

std::string collection_path(std::string_view control_plane_id, const Collection& collection) {
  std::string path = control_plane_path(control_plane_id) + "/core-entities";
  for (const auto& segment : collection) path.append("/").append(encode_segment(segment));
  return path;
}

std::string access_tokens_path(std::string_view user_id) {
  return "/v3/users/" + encode_segment(user_id) + "/access-tokens";
}

}  // namespace

Result<Client> Client::connect(Options options) {
  auto transport = make_http_transport(
      {.base_url = options.base_url, .verify_peer = options.verify_peer, .ca_file = options.ca_file});
  if (!transport) return std::move(transport).error();
  return Client(std::move(options), std::move(*transport));
}

Client::Client(Options options, std::shared_ptr<Transport> transport) : state_(std::make_unique<State>()) {
  state_->token = options.token;
  state_->options = std::move(options);
  state_->transport = std::move(transport);
}

Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

std::string Client::token() const { return state_->current_token(); }

Result<Response> Client::send(Method method, std::string target, const bj::value* body) {
  State& state = *state_;
  Request request{.method = method, .target = std::move(target), .timeout = state.options.timeout};
  request.headers.emplace_back("Accept", "application/json");
  if (body != nullptr) {
    request.headers.emplace_back("Content-Type", "application/json");
    request.body = bj::serialize(*body);
  }
  request.headers.emplace_back("Authorization", "");
  auto& authorization = request.headers.back().second;

  int attempts = 0;
  int backoffs = 0;
  bool refreshed = false;
  milliseconds waited{0};
  for (;;) {
    const std::string token = state.current_token();
    authorization = "Bearer " + token;
    ++attempts;
    auto sent = state.transport->send(request);
    if (sent && sent->status >= 200 && sent->status <= 299) return sent;
    Error error = sent ? error_from_response(sent->status, sent->body, find_header(sent->headers, "Retry-After"),
                                             find_header(sent->headers, "X-Kong-Request-Id"))
                       : std::move(sent).error();
    error.attempts = attempts;

    if (error.kind == ErrorKind::Unauthorized && !refreshed) {
      refreshed = true;
      // Another thread may have refreshed the token while this request was in flight.
      if (state.current_token() != token) continue;
      if (!state.options.on_unauthorized) return error;
      auto fresh = state.options.on_unauthorized(error);
      if (!fresh || fresh->empty()) return error;
      {
        std::lock_guard lock(state.token_mutex);
        state.token = std::move(*fresh);
      }
      continue;
    }
    if (!may_retry(method, error) || attempts >= state.options.retry.max_attempts) return error;
    // The server's Retry-After is exact (openkonnect's key reopens then), so it is waited as
    // told; only the guesses of backoff get jitter.
    const milliseconds delay =
        error.retry_after ? milliseconds(*error.retry_after * 1000LL) : state.backoff(backoffs++);
    if (waited + delay > state.options.retry.max_total_wait) return error;
    state.sleep(delay);
    waited += delay;
  }
}

Result<bj::value> Client::call(Method method, std::string target, const bj::value* body) {
  auto response = send(method, std::move(target), body);
  if (!response) return std::move(response).error();
  if (response->body.empty()) return bj::value(nullptr);
  boost::system::error_code ec;
  bj::value parsed = bj::parse(response->body, ec);
  if (ec) return protocol_error("the answer is not JSON: " + ec.message());
  return parsed;
}

// --- identity ------------------------------------------------------------------------

Result<bj::object> Client::me() { return as_object(call(Method::Get, "/v3/users/me")); }

Items Client::users(Query query, int page_size) {
  return Items(*this, ListDialect::NumberedPages, "/v3/users", std::move(query), page_size);
}

Result<bj::object> Client::create_access_token(std::string_view user_id, const bj::object& body) {
  const bj::value value(body);
  return as_object(call(Method::Post, access_tokens_path(user_id), &value));
}

Result<bj::array> Client::access_tokens(std::string_view user_id) {
  auto list = as_object(call(Method::Get, access_tokens_path(user_id)));
  if (!list) return std::move(list).error();
  auto* data = list->if_contains("data");
  if (data == nullptr || !data->is_array()) return protocol_error("the list has no [data] array");
  return std::move(data->as_array());
}

Result<bj::object> Client::revoke_access_token(std::string_view user_id, std::string_view token_id) {
  return as_object(call(Method::Patch, access_tokens_path(user_id) + "/" + encode_segment(token_id) + "/revoke"));
}

Result<void> Client::delete_access_token(std::string_view user_id, std::string_view token_id) {
  return as_void(send(Method::Delete, access_tokens_path(user_id) + "/" + encode_segment(token_id)));
}

// --- control planes --------------------------------------------------------------------

Items Client::control_planes(Query query, int page_size) {
  return Items(*this, ListDialect::NumberedPages, "/v2/control-planes", std::move(query), page_size);
}

Result<bj::object> Client::get_control_plane(std::string_view id) {
  return as_object(call(Method::Get, control_plane_path(id)));
}

Result<bj::object> Client::create_control_plane(const bj::object& body) {
  const bj::value value(body);
  return as_object(call(Method::Post, "/v2/control-planes", &value));
}

Result<bj::object> Client::update_control_plane(std::string_view id, const bj::object& patch) {
  const bj::value value(patch);
  return as_object(call(Method::Patch, control_plane_path(id), &value));
}

Result<void> Client::delete_control_plane(std::string_view id) {
  return as_void(send(Method::Delete, control_plane_path(id)));
}

// --- core entities -----------------------------------------------------------------------

Items Client::entities(std::string_view control_plane_id, const Collection& collection, Query query, int page_size) {
  return Items(*this, ListDialect::SizeOffset, collection_path(control_plane_id, collection), std::move(query),
               page_size);
}

Result<bj::object> Client::get_entity(std::string_view control_plane_id, const Collection& collection,
                                      std::string_view id_or_key) {
  return as_object(call(Method::Get, collection_path(control_plane_id, collection) + "/" + encode_segment(id_or_key)));
}

Result<bj::object> Client::create_entity(std::string_view control_plane_id, const Collection& collection,
                                         const bj::object& body) {
  const bj::value value(body);
  return as_object(call(Method::Post, collection_path(control_plane_id, collection), &value));
}

Result<bj::object> Client::upsert_entity(std::string_view control_plane_id, const Collection& collection,
                                         std::string_view id_or_key, const bj::object& body) {
  const bj::value value(body);
  return as_object(
      call(Method::Put, collection_path(control_plane_id, collection) + "/" + encode_segment(id_or_key), &value));
}

Result<void> Client::delete_entity(std::string_view control_plane_id, const Collection& collection,
                                   std::string_view id_or_key, const Query& query) {
  return as_void(
      send(Method::Delete,
           with_query(collection_path(control_plane_id, collection) + "/" + encode_segment(id_or_key), query)));
}

}  // namespace openkonnect::client
