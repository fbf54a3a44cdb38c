// Client: the typed API of an openkonnect (or Konnect) server, with the error contract turned
// into values, safe automatic retries and a hook to refresh credentials.
//
// Every call returns a Result: the value, or an Error whose `kind` is the contract's class.
// Retries are automatic only where they cannot do a request twice:
//   - 429 on any method: the server did not process the request. The Client waits the
//     Retry-After seconds the server sent (exponential backoff with jitter if it sent none).
//   - for GET, HEAD, PUT and DELETE, also 502, 503, 504 and transport failures (a POST or
//     PATCH may have been carried out before the failure, so it is returned to the caller).
//     On a 503 with Retry-After the Client waits that long, else it backs off.
//   - within RetryPolicy's caps: attempts, and total time asleep. A wait the server asks for
//     that would exceed the remaining budget is not slept: the Error is returned at once, with
//     its `retry_after`, for the caller to decide.
// On a 401 the Client calls Options::on_unauthorized once per request; if it returns a token,
// that becomes the Client's token and the request is sent again with it.
//
// Thread-safety: all methods may be called from several threads at once on one Client; the
// token is shared (a refresh by one call is used by the next of every thread). A Client must
// outlive the Items iterators it returns.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "openkonnect/client/error.hpp"
#include "openkonnect/client/items.hpp"
#include "openkonnect/client/result.hpp"
#include "openkonnect/client/transport.hpp"

namespace openkonnect::client {

/// How persistently to retry (see the file comment for when a retry happens at all).
struct RetryPolicy {
  /// Sends of one request at most, the first included; 1 turns retries off.
  int max_attempts = 4;
  /// Backoff without Retry-After: attempt n (from 0) waits a uniformly random time in
  /// [d/2, d], d = min(max_delay, base_delay * 2^n). The jitter keeps many clients that failed
  /// together from retrying together.
  std::chrono::milliseconds base_delay{250};
  /// The longest single backoff wait (a server's Retry-After is not capped by it).
  std::chrono::milliseconds max_delay{8000};
  /// Time asleep between attempts of one request, summed, at most.
  std::chrono::milliseconds max_total_wait{60000};
};

/// Everything a Client needs. Only base_url and token are required.
struct Options {
  /// `http://host:port` or `https://host[:port]`, optionally with a path prefix.
  std::string base_url;
  /// A personal access token (`kpat_…`) or system-account token (`spat_…`).
  std::string token;
  /// The deadline of each attempt (connect, TLS, write, read).
  std::chrono::milliseconds timeout{30000};
  /// When and how often failed requests are sent again.
  RetryPolicy retry;
  /// Called on a 401 (the Error is passed) at most once per request; a token returned replaces
  /// the Client's and the request is sent again; nullopt returns the 401. Called from the
  /// thread of the failing call, possibly from several threads at once.
  std::function<std::optional<std::string>(const Error&)> on_unauthorized;
  /// How the Client waits between attempts; std::this_thread::sleep_for when empty. Tests
  /// inject one that records the waits.
  std::function<void(std::chrono::milliseconds)> sleep;
  /// A uniform random number in [0, 1) for the jitter; a seeded PRNG when empty.
  std::function<double()> random;
  /// HTTPS: verify the server's certificate chain and host name (leave on outside tests).
  bool verify_peer = true;
  /// HTTPS: a PEM file of trusted CA certificates; empty means the system's store.
  std::string ca_file;
};

/// The path of a core-entity collection under `/core-entities/`, one segment per element,
/// each percent-encoded by the Client: `{"services"}`, `{"services", "billing", "routes"}`.
using Collection = std::vector<std::string>;

/// Percent-encodes one path segment (everything but RFC 3986's unreserved characters).
std::string encode_segment(std::string_view segment);

/// `target` followed by `?k=v&…`, keys and values percent-encoded; `target` alone when empty.
std::string with_query(std::string target, const Query& query);

/// A client of one server, with one identity.
class Client {
 public:
  /// A client over the real HTTP(S) transport. Fails (kind Transport) on an unusable
  /// base URL or CA file; makes no connection yet.
  static Result<Client> connect(Options options);
  /// A client over `transport` (tests: a fake). options.base_url is ignored.
  Client(Options options, std::shared_ptr<Transport> transport);
  /// Movable, so connect() can return one; Items made by the moved-from Client become invalid.
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  /// Not copyable: a Client owns its connections and its token.
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  /// Closes the pooled connections.
  ~Client();

  /// The token requests are sent with now (after any refresh).
  std::string token() const;

  // --- any route ---------------------------------------------------------------------

  /// Sends one request with the retries and the 401 hook above. `target` is path and query,
  /// encoded. `body` is sent as JSON when given. Returns the 2xx response, or the Error of
  /// the last attempt (with `attempts` set).
  Result<Response> send(Method method, std::string target, const boost::json::value* body = nullptr);
  /// As send(), and parses the answer's JSON: the parsed body, null for an empty one (204).
  /// A 2xx body that is not JSON is an Error (Transport, Protocol).
  Result<boost::json::value> call(Method method, std::string target, const boost::json::value* body = nullptr);

  // --- identity (/v3) ----------------------------------------------------------------

  /// GET /v3/users/me: the calling user. Forbidden for a system-account token.
  Result<boost::json::object> me();
  /// GET /v3/users, every page (`filter[email][eq]` etc. in `query`).
  Items users(Query query = {}, int page_size = 100);
  /// POST /v3/users/{userId}/access-tokens with `{name, ttl_seconds | expires_at}`: the token,
  /// with its secret `konnect_token` (shown this once). BadRequest at the 11th token or for a
  /// bad lifetime, Conflict for a name the user's tokens already have.
  Result<boost::json::object> create_access_token(std::string_view user_id, const boost::json::object& body);
  /// GET /v3/users/{userId}/access-tokens: every token of the user (at most 10, so unpaged).
  Result<boost::json::array> access_tokens(std::string_view user_id);
  /// PATCH …/access-tokens/{tokenId}/revoke: the revoked token (revoking twice changes nothing).
  Result<boost::json::object> revoke_access_token(std::string_view user_id, std::string_view token_id);
  /// DELETE …/access-tokens/{tokenId}. NotFound when there is no such token.
  Result<void> delete_access_token(std::string_view user_id, std::string_view token_id);

  // --- control planes (/v2/control-planes) --------------------------------------------

  /// GET /v2/control-planes, every page the caller may read (filters and `sort` in `query`).
  Items control_planes(Query query = {}, int page_size = 100);
  /// GET /v2/control-planes/{id}. NotFound also for another organization's id.
  Result<boost::json::object> get_control_plane(std::string_view id);
  /// POST /v2/control-planes with `{name, description?, cluster_type?, labels? …}`: the new
  /// control plane. BadRequest for an invalid body, Forbidden without the Creator role,
  /// Conflict for a name already used in the organization.
  Result<boost::json::object> create_control_plane(const boost::json::object& body);
  /// PATCH /v2/control-planes/{id}: the updated control plane (labels merge; null removes one).
  Result<boost::json::object> update_control_plane(std::string_view id, const boost::json::object& patch);
  /// DELETE /v2/control-planes/{id}, with everything it holds. Conflict for a group with members.
  Result<void> delete_control_plane(std::string_view id);

  // --- core entities (/v2/control-planes/{id}/core-entities/…) --------------------------

  /// GET the collection, every page (size/offset dialect; `tags`, `filter[name][eq]` in `query`).
  Items entities(std::string_view control_plane_id, const Collection& collection, Query query = {},
                 int page_size = 100);
  /// GET one entity by id or endpoint key (a service's name, a consumer's username …).
  Result<boost::json::object> get_entity(std::string_view control_plane_id, const Collection& collection,
                                         std::string_view id_or_key);
  /// POST: creates (201) and returns the entity. BadRequest with every invalid field; Conflict
  /// for a taken unique key or id.
  Result<boost::json::object> create_entity(std::string_view control_plane_id, const Collection& collection,
                                            const boost::json::object& body);
  /// PUT: creates or replaces the entity at `id_or_key` (omitted fields return to defaults).
  /// Idempotent, so it is retried like a GET.
  Result<boost::json::object> upsert_entity(std::string_view control_plane_id, const Collection& collection,
                                            std::string_view id_or_key, const boost::json::object& body);
  /// DELETE; success also when nothing was there. Conflict for a service routes still use
  /// (pass `{{"force", "true"}}` in `query` to delete them too).
  Result<void> delete_entity(std::string_view control_plane_id, const Collection& collection,
                             std::string_view id_or_key, const Query& query = {});

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace openkonnect::client
