#include "cluster/listener.hpp"

#include "crypto/x509.hpp"
#include "errors/problem.hpp"
#include "http/fd_tls_stream.hpp"
#include "http/tls.hpp"
#include "observability/log.hpp"
#include "observability/trace.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace ok::cluster {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
namespace bj = boost::json;
using tcp = asio::ip::tcp;
// Not beast::ssl_stream: see http/fd_tls_stream.hpp for what it costs per idle connection.
using Ws = websocket::stream<http::FdTlsStream>;

constexpr std::size_t kMaxHeaderBytes = 8 * 1024;
constexpr std::size_t kMaxHostnameBytes = 255;
constexpr int kChainDepth = 4;  // Kong's ssl_verify_depth in pki mode

using util::now_seconds;

std::string der_of(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  if (n <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

// A ping's payload is the data plane's configuration hash (32 zeros before it has one).
bool is_config_hash(std::string_view s) {
  if (s.empty() || s.size() > 32) return false;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bj::object compatibility(std::string_view state, bj::array issues = {}) {
  return bj::object{{"state", state}, {"issues", std::move(issues)}};
}

bj::object issue(std::string_view code, std::string description, std::string resolution,
                 bj::array affected_resources = {}) {
  return bj::object{{"code", code},
                    {"severity", "error"},
                    {"description", std::move(description)},
                    {"resolution", std::move(resolution)},
                    {"affected_resources", std::move(affected_resources)}};
}

// Who a client certificate belongs to: a control plane, or why none.
struct Identified {
  std::optional<store::ControlPlane> cp;
  std::string reason;  // why refused, for the log and the 401
};

}  // namespace

class Listener::Impl : public std::enable_shared_from_this<Listener::Impl> {
 public:
  Impl(store::Store& store, Hub& hub, ListenerOptions options)
      : store_(store),
        hub_(hub),
        options_(std::move(options)),
        tls_(http::make_server_tls_context(options_.certificate_pem, options_.private_key_pem)),
        acceptor_(ioc_),
        lookups_(2) {
    // Ask every client for its certificate, but let the handshake through whatever it sends:
    // which certificates are acceptable depends on the control plane the certificate names,
    // decided after the handshake, where a refusal can be logged and answered in words.
    SSL_CTX_set_verify(tls_->native_handle(), SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
    static const unsigned char kSessionContext[] = "openkonnect-cluster";
    SSL_CTX_set_session_id_context(tls_->native_handle(), kSessionContext, sizeof kSessionContext - 1);
  }

  class Session;

  std::uint16_t start() {
    beast::error_code ec;
    const auto address = asio::ip::make_address(options_.host, ec);
    if (ec) throw std::runtime_error(fmt::format("invalid cluster listen address [{}]", options_.host));
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error(
          fmt::format("cannot listen for data planes on {}:{}: {}", options_.host, options_.port, ec.message()));
    }
    const auto bound = acceptor_.local_endpoint().port();
    accept();
    purge();
    thread_ = std::thread([self = shared_from_this()] { self->ioc_.run(); });
    return bound;
  }

  void stop();
  void accept();

  // Forgets nodes not seen for purge_after, now and then every hour (on the lookup pool: it
  // writes to the store).
  void purge() {
    if (stopped_) return;
    asio::post(lookups_, [self = shared_from_this()] {
      try {
        const auto removed = self->store_.data_planes().purge_nodes(now_seconds() - self->options_.purge_after.count());
        if (removed) {
          observability::log_event(
              observability::Level::info,
              fmt::format("forgot {} data-plane nodes not seen for {} s", removed, self->options_.purge_after.count()));
        }
      } catch (const std::exception& e) {
        observability::log_event(observability::Level::warn, "purging data-plane nodes failed", 0, e.what());
      }
    });
    purge_timer_.expires_after(std::chrono::hours(1));
    purge_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->purge();
    });
  }

  // The control plane a data plane's certificate belongs to. Blocks on the store: runs on the
  // lookup pool, never on the I/O thread.
  Identified identify(const crypto::CertificateIdentity& id, const std::string& leaf_der,
                      const std::vector<std::string>& chain_der, const std::string& server_name) {
    const auto candidates = store_.data_planes().certificates_matching(id.sha256_hex, id.issuer_hex);
    std::map<std::string, store::ControlPlane> matched;
    std::string why = "the certificate is not pinned to any control plane, and no pinned CA signed it";
    std::map<std::string, std::vector<std::string>> cas_by_cp;
    std::map<std::string, store::ControlPlane> pki_cps;
    for (const auto& c : candidates) {
      auto cp = store_.get_control_plane(store::OrgId(c.org_id), c.control_plane_id);
      if (!cp) continue;
      if (cp->auth_type == "pki_client_certs") {
        if (c.subject == id.issuer_hex) {
          cas_by_cp[cp->id].push_back(c.cert);
          pki_cps.emplace(cp->id, *cp);
        } else {
          why = "the certificate is pinned to a control plane whose auth_type is pki_client_certs (pin its CA)";
        }
        continue;
      }
      if (c.fingerprint != id.sha256_hex) continue;
      if (id.not_after < now_seconds()) {
        why = "the pinned certificate has expired";
        continue;
      }
      matched.emplace(cp->id, *cp);
    }
    for (const auto& [cp_id, cas] : cas_by_cp) {
      std::string error;
      if (crypto::verify_chain(leaf_der, chain_der, cas, kChainDepth, error)) {
        matched.emplace(cp_id, pki_cps.at(cp_id));
      } else {
        why = "the certificate does not verify against the control plane's CA: " + error;
      }
    }
    if (matched.empty()) return {std::nullopt, why};
    // A server name that names a control plane (its id as the first label) must name one the
    // certificate belongs to; otherwise it only picks among several.
    const auto label = util::to_lower(server_name.substr(0, server_name.find('.')));
    if (schema::is_uuid(label)) {
      if (auto it = matched.find(label); it != matched.end()) return {it->second, {}};
      return {std::nullopt, "the certificate is not accepted by control plane " + label + " (the TLS server name)"};
    }
    if (matched.size() == 1) return {matched.begin()->second, {}};
    return {std::nullopt,
            "the certificate belongs to several control planes; connect with the TLS server name "
            "<control-plane-id>.<host> to choose one"};
  }

  std::vector<std::shared_ptr<Session>> live_sessions() {
    std::vector<std::shared_ptr<Session>> live;
    std::lock_guard lock(sessions_mutex_);
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
    return live;
  }

  store::Store& store_;
  Hub& hub_;
  ListenerOptions options_;
  // Sessions deregister in their destructors, which may run while ioc_ is destroyed: what they
  // touch is declared before it, so it outlives it.
  std::atomic<std::size_t> open_{0};
  std::mutex sessions_mutex_;
  std::map<const void*, std::weak_ptr<Session>> sessions_;
  std::shared_ptr<asio::ssl::context> tls_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  asio::steady_timer purge_timer_{ioc_};
  asio::thread_pool lookups_;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

class Listener::Impl::Session final : public Subscriber, public std::enable_shared_from_this<Session> {
 public:
  Session(Impl& listener, tcp::socket socket) : listener_(listener), ws_(std::move(socket), *listener.tls_) {
    listener_.open_.fetch_add(1);
    beast::error_code ec;
    auto endpoint = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    if (!ec) node_.ip = endpoint.address().to_string();
  }

  ~Session() override {
    {
      std::lock_guard lock(listener_.sessions_mutex_);
      listener_.sessions_.erase(this);
    }
    listener_.open_.fetch_sub(1);
  }

  void start() {
    {
      std::lock_guard lock(listener_.sessions_mutex_);
      listener_.sessions_[this] = weak_from_this();
    }
    arm_deadline();
    ws_.next_layer().async_handshake(asio::ssl::stream_base::server,
                                     [self = shared_from_this()](beast::error_code ec) { self->on_tls(ec); });
  }

  // --- Subscriber (any thread)
  void deliver(std::shared_ptr<const Payload> payload) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), payload = std::move(payload)]() mutable {
      if (payload->sequence < self->latest_sequence_) return;  // an older render, overtaken
      self->latest_sequence_ = payload->sequence;
      self->latest_hash_ = payload->config_hash;
      self->update_sync();
      self->pending_ = std::move(payload);
      self->flush();
    });
  }

  void disconnect(const std::string& reason) override {
    asio::post(ws_.get_executor(), [self = shared_from_this(), reason] { self->close_with(reason); });
  }

  // At shutdown, with the I/O thread stopped: the socket closes, every pending operation ends.
  void cut() {
    beast::get_lowest_layer(ws_).close();
    idle_timer_.cancel();
  }

  const std::string& certificate_fingerprint() const override { return identity_.sha256_hex; }
  bool in_sync() const override { return in_sync_.load(std::memory_order_relaxed); }

 private:
  void on_tls(beast::error_code ec) {
    // Not TLS, or no agreement on a protocol: nothing was said, nothing to answer.
    if (ec) return;
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    bhttp::async_read(
        ws_.next_layer(), buffer_, *parser_,
        [self = shared_from_this()](beast::error_code read_ec, std::size_t) { self->on_request(read_ec); });
  }

  void on_request(beast::error_code ec) {
    disarm_deadline();
    if (ec) return;
    const auto& request = parser_->get();
    const auto target = request.target();
    auto url = boost::urls::parse_origin_form(std::string_view(target.data(), target.size()));
    if (!url || url->encoded_path() != "/v1/outlet") {
      return refuse(errors::ApiError::not_found("Data planes connect to /v1/outlet."), "unknown path");
    }
    if (!websocket::is_upgrade(request)) {
      return refuse(errors::ApiError::bad_request(errors::request_format_invalid(
                        "/v1/outlet takes a WebSocket upgrade request (GET with Upgrade: websocket)")),
                    "not a WebSocket upgrade");
    }
    std::optional<std::string> node_id, version, hostname;
    for (const auto& param : url->params()) {
      if (param.key == "node_id") node_id = param.value;
      if (param.key == "node_version") version = param.value;
      if (param.key == "node_hostname") hostname = param.value;
    }
    errors::InvalidParameters problems;
    using errors::Rule;
    using errors::Source;
    if (!node_id) {
      problems.push_back({"node_id", Rule::required, "is required", Source::query});
    } else if (!schema::is_uuid(*node_id)) {
      problems.push_back({"node_id", Rule::is_uuid, "must be a UUID", Source::query});
    }
    if (!version) {
      problems.push_back({"node_version", Rule::required, "is required", Source::query});
    } else if (version->empty() || version->size() > 64 || !schema::is_utf8(*version)) {
      problems.push_back({"node_version", Rule::invalid, "must be a Kong version such as 3.10.0", Source::query});
    }
    if (hostname && (hostname->size() > kMaxHostnameBytes || !schema::is_utf8(*hostname))) {
      problems.push_back({"node_hostname", Rule::invalid, "must be a host name of at most 255 bytes", Source::query});
    }
    if (!problems.empty()) return refuse(errors::ApiError::bad_request(std::move(problems)), "invalid query");
    node_.id = util::to_lower(*node_id);
    node_.version = *version;
    node_.hostname = hostname.value_or("");

    SSL* ssl = ws_.next_layer().native_handle();
    X509* peer = SSL_get0_peer_certificate(ssl);
    if (!peer) {
      return refuse(errors::ApiError::unauthorized("The data plane presented no client certificate."),
                    "no client certificate");
    }
    const auto leaf_der = der_of(peer);
    auto identity = crypto::identity_of_der(leaf_der);
    if (!identity) {
      return refuse(errors::ApiError::unauthorized("The client certificate cannot be read."), "unreadable certificate");
    }
    identity_ = *identity;
    node_.cert_expiry = identity_.not_after;
    std::vector<std::string> chain_der;
    if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
      for (int i = 0; i < sk_X509_num(chain); ++i) chain_der.push_back(der_of(sk_X509_value(chain, i)));
    }
    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    asio::post(listener_.lookups_, [self = shared_from_this(), leaf_der, chain_der = std::move(chain_der),
                                    server_name = std::string(sni ? sni : "")] {
      Identified who;
      try {
        who = self->listener_.identify(self->identity_, leaf_der, chain_der, server_name);
      } catch (const std::exception& e) {
        who.reason = "the control plane's store is unavailable";
        observability::log_event(observability::Level::error, "data-plane lookup failed", 0, e.what());
      }
      asio::post(self->ws_.get_executor(), [self, who = std::move(who)]() mutable { self->on_identified(who); });
    });
  }

  void on_identified(Identified& who) {
    if (!who.cp) {
      return refuse(errors::ApiError::unauthorized(
                        "The client certificate is not accepted by any control plane: " + who.reason + "."),
                    who.reason);
    }
    cp_ = std::move(*who.cp);
    node_.type = "kong-proxy";
    // No idle timeout of Beast's: see watch_idle().
    ws_.set_option(
        websocket::stream_base::timeout{listener_.options_.handshake_timeout, websocket::stream_base::none(), false});
    ws_.read_message_max(listener_.options_.max_payload);
    // One frame per message: Kong's data plane reads with lua-resty-websocket's recv_frame and
    // takes a non-final fragment for an error (Beast would cut a configuration into 4 KiB ones).
    ws_.auto_fragment(false);
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::ping) on_ping(std::string_view(payload.data(), payload.size()));
    });
    ws_.async_accept(parser_->release(), [self = shared_from_this()](beast::error_code ec) {
      self->parser_.reset();  // the request is the accept's; what is left of the parser is not needed
      if (ec) return;
      self->heard();
      self->watch_idle();
      self->ws_.async_read(self->buffer_,
                           [self](beast::error_code read_ec, std::size_t) { self->on_basic_info(read_ec); });
    });
  }

  void on_basic_info(beast::error_code ec) {
    if (ec) return;
    heard();
    bj::object info;
    try {
      auto parsed = bj::parse(beast::buffers_to_string(buffer_.data()));
      if (parsed.is_object()) info = std::move(parsed.get_object());
    } catch (const std::exception&) {
    }
    release_read_buffer();
    const auto* type = info.if_contains("type");
    const auto* plugins = info.if_contains("plugins");
    if (!type || *type != "basic_info" || !plugins || !plugins->is_array()) {
      log_refusal("its first message was not a basic_info with a plugins list");
      return close_with_code(websocket::close_code::protocol_error, "expected basic_info");
    }
    for (const auto& p : plugins->get_array()) {
      if (const auto* name = p.is_object() ? p.get_object().if_contains("name") : nullptr; name && name->is_string()) {
        dp_plugins_.emplace_back(name->get_string());
      }
    }
    std::sort(dp_plugins_.begin(), dp_plugins_.end());
    dp_plugins_.shrink_to_fit();
    if (const auto* labels = info.if_contains("labels"); labels && labels->is_object()) {
      node_.labels = bj::serialize(*labels);
    }
    node_.created_at = node_.updated_at = node_.last_ping = now_seconds();
    const auto why = version_incompatibility(listener_.options_.kong_version, parse_kong_version(node_.version));
    if (!why.empty()) {
      node_.sync_status = "kong_version_incompatible";
      node_.compatibility = bj::serialize(compatibility(
          "COMPATIBILITY_STATE_INCOMPATIBLE",
          bj::array{issue("KONG_VERSION_INCOMPATIBLE", why,
                          fmt::format("Run Kong {}.x with a minor version of at most {}.",
                                      listener_.options_.kong_version.major, listener_.options_.kong_version.minor))}));
      record();
      log_refusal(why);
      return close_with_code(websocket::close_code::policy_error, "kong version incompatible");
    }
    node_.sync_status = "normal";
    node_.compatibility = bj::serialize(compatibility("COMPATIBILITY_STATE_FULLY_COMPATIBLE"));
    record();
    observability::log_event(observability::Level::info,
                             fmt::format("data plane {} ({} {}) connected to control plane {} from {}", node_.id,
                                         node_.hostname, node_.version, cp_.id, node_.ip));
    subscribed_ = true;
    // Subscribing hands over the current configuration, rendering it if stale: store reads,
    // so not on the I/O thread.
    asio::post(listener_.lookups_, [self = shared_from_this()] { self->listener_.hub_.subscribe(self->cp_, self); });
    read_next();
  }

  // Data messages are rare (basic_info, then error reports; pings are Beast's own): the buffer
  // is given back after each rather than kept at its largest size on every idle connection.
  void release_read_buffer() {
    buffer_.consume(buffer_.size());
    buffer_.shrink_to_fit();
  }

  void read_next() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_frame(ec); });
  }

  // After basic_info, a data plane sends only pings (handled in on_ping) and, from Kong's
  // enterprise data planes, `error` reports of a configuration it could not apply.
  void on_frame(beast::error_code ec) {
    if (ec) return on_closed();
    heard();
    bj::value message;
    try {
      message = bj::parse(beast::buffers_to_string(buffer_.data()));
    } catch (const std::exception&) {
    }
    release_read_buffer();
    const auto* object = message.if_object();
    const auto* type = object ? object->if_contains("type") : nullptr;
    if (!type || *type != "error") {
      log_refusal("it sent a message other than a ping or an error report");
      return close_with_code(websocket::close_code::protocol_error, "unexpected message");
    }
    const auto* error = object->if_contains("error");
    node_.last_error = error ? bj::serialize(*error) : "null";
    node_.updated_at = now_seconds();
    record();
    observability::log_event(
        observability::Level::warn,
        fmt::format("data plane {} of control plane {} reported an error applying its configuration", node_.id, cp_.id),
        0, node_.last_error.substr(0, 2048));
    read_next();
  }

  void on_ping(std::string_view payload) {
    heard();
    if (!subscribed_) return;
    if (!is_config_hash(payload)) {
      observability::log_event(observability::Level::warn,
                               fmt::format("data plane {} pinged without a configuration hash", node_.id));
      return;
    }
    node_.config_hash = std::string(payload);
    if (node_.config_hash.size() < 32) node_.config_hash.append(32 - node_.config_hash.size(), '0');
    node_.last_ping = node_.updated_at = now_seconds();
    update_sync();
    record();
  }

  // A data plane silent for idle_timeout (Kong's PING_WAIT) is cut. Beast's own idle timeout
  // (keep_alive_pings off) cannot do this: it counts from the start of the pending read, and a
  // session's read stays pending while pings arrive (Beast answers them inside it), so it cut
  // every data plane idle_timeout after it connected, however often it pinged. Hence a clock of
  // the session's own, moved by anything heard from the data plane. The timer holds only a weak
  // reference: a session whose connection ended is not kept alive by it.
  void heard() { last_heard_ = std::chrono::steady_clock::now(); }

  void watch_idle() {
    idle_timer_.expires_at(last_heard_ + listener_.options_.idle_timeout);
    idle_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->closing_) return;
      const auto silent = std::chrono::steady_clock::now() - self->last_heard_;
      if (silent < self->listener_.options_.idle_timeout) return self->watch_idle();
      observability::log_event(
          observability::Level::info,
          fmt::format("disconnecting data plane {} of control plane {}: silent for {} ms", self->node_.id, self->cp_.id,
                      std::chrono::duration_cast<std::chrono::milliseconds>(silent).count()));
      // The pending read fails, and on_frame ends the session.
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  // The TLS handshake with the HTTP request, and a refusal's answer, get handshake_timeout: a
  // silent client is cut then. FdTlsStream waits on the socket itself, where tcp_stream's
  // expiry does not reach, hence a deadline of the session's own; it shares idle_timer_, which
  // has nothing to watch until the WebSocket is accepted. The flag stops an expiry already
  // queued when the deadline was disarmed.
  void arm_deadline() {
    deadline_armed_ = true;
    idle_timer_.expires_after(listener_.options_.handshake_timeout);
    idle_timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->deadline_armed_) return;
      beast::get_lowest_layer(self->ws_).close();
    });
  }

  void disarm_deadline() {
    deadline_armed_ = false;
    idle_timer_.cancel();
  }

  void update_sync() { in_sync_.store(!latest_hash_.empty() && node_.config_hash == latest_hash_); }

  void flush() {
    if (closing_ || writing_ || !subscribed_ || !pending_) return;
    auto payload = std::move(pending_);
    pending_.reset();
    if (payload->config_hash == sent_hash_) return;  // it has this one already
    std::vector<std::string> missing;
    for (const auto& name : payload->plugins) {
      if (!std::binary_search(dp_plugins_.begin(), dp_plugins_.end(), name)) missing.push_back(name);
    }
    if (!missing.empty()) {
      // Kong's rule: a configuration that uses a plugin the data plane lacks is not sent; the
      // connection stays, and the next change is tried again.
      bj::array affected;
      for (const auto& name : missing) affected.push_back(bj::object{{"id", name}, {"type", "plugin"}});
      node_.sync_status = "plugin_set_incompatible";
      node_.compatibility = bj::serialize(compatibility(
          "COMPATIBILITY_STATE_INCOMPATIBLE",
          bj::array{issue(
              "PLUGIN_SET_INCOMPATIBLE",
              fmt::format("The configuration uses plugins the data plane does not have: {}.", fmt::join(missing, ", ")),
              "Install the plugins on the data plane, or remove them from the configuration.", std::move(affected))}));
      record();
      return;
    }
    if (payload->frame.size() > listener_.options_.max_payload) {
      node_.sync_status = "normal";
      node_.compatibility = bj::serialize(compatibility(
          "COMPATIBILITY_STATE_INCOMPATIBLE",
          bj::array{issue("PAYLOAD_TOO_LARGE",
                          fmt::format("The configuration is {} bytes compressed, over the cluster frame limit of {}.",
                                      payload->frame.size(), listener_.options_.max_payload),
                          "Raise cluster_max_payload on the data planes and --cluster-max-payload here.")}));
      record();
      return;
    }
    if (node_.sync_status != "normal") {
      node_.sync_status = "normal";
      node_.compatibility = bj::serialize(compatibility("COMPATIBILITY_STATE_FULLY_COMPATIBLE"));
      record();
    }
    writing_ = true;
    ws_.binary(true);
    ws_.async_write(asio::buffer(payload->frame),
                    [self = shared_from_this(), payload](beast::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (ec) return;
                      self->sent_hash_ = payload->config_hash;
                      if (self->close_after_write_)
                        return self->close_with_code(websocket::close_code::policy_error, "closed");
                      self->flush();
                    });
  }

  void close_with(const std::string& reason) {
    if (!subscribed_) return;
    observability::log_event(
        observability::Level::info,
        fmt::format("disconnecting data plane {} of control plane {}: {}", node_.id, cp_.id, reason));
    close_with_code(websocket::close_code::policy_error, "disconnected");
  }

  void close_with_code(websocket::close_code code, const char* reason) {
    if (closing_) return;
    if (writing_) {
      close_after_write_ = true;
      return;
    }
    closing_ = true;
    ws_.async_close(websocket::close_reason(code, reason),
                    [self = shared_from_this()](beast::error_code) { self->on_closed(); });
  }

  void on_closed() {
    if (!subscribed_) return;
    subscribed_ = false;
    listener_.hub_.unsubscribe(store::OrgId(cp_.org_id), cp_.id, this);
    observability::log_event(observability::Level::info,
                             fmt::format("data plane {} of control plane {} disconnected", node_.id, cp_.id));
  }

  void record() { listener_.store_.data_planes().record_node(store::Scope::of(cp_), node_); }

  void log_refusal(const std::string& reason) {
    listener_.hub_.counters().refused_connections.fetch_add(1, std::memory_order_relaxed);
    observability::log_event(
        observability::Level::warn,
        fmt::format("data plane refused: {} (node {}, version {}, address {}, certificate subject [{}] sha256 {})",
                    reason, node_.id.empty() ? "-" : node_.id, node_.version.empty() ? "-" : node_.version, node_.ip,
                    identity_.subject_text, identity_.sha256_hex.empty() ? "-" : identity_.sha256_hex));
  }

  // An HTTP answer to a request refused before the upgrade, then the connection ends.
  void refuse(const errors::ApiError& error, const std::string& reason) {
    log_refusal(reason);
    const auto trace = observability::next_trace_id();
    auto response = std::make_shared<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(static_cast<unsigned>(error.status())), 11);
    response->set(bhttp::field::server, "openkonnect");
    response->set(bhttp::field::content_type, errors::kProblemContentType);
    response->body() = errors::render_problem(error, trace);
    response->keep_alive(false);
    response->prepare_payload();
    arm_deadline();
    bhttp::async_write(ws_.next_layer(), *response,
                       [self = shared_from_this(), response](beast::error_code, std::size_t) {
                         self->ws_.next_layer().async_shutdown([self](beast::error_code) {
                           beast::error_code ignored;
                           beast::get_lowest_layer(self->ws_).socket().close(ignored);
                         });
                       });
  }

  Impl& listener_;
  Ws ws_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::empty_body>> parser_;
  crypto::CertificateIdentity identity_;
  store::ControlPlane cp_;
  store::DataPlaneNode node_;
  std::vector<std::string> dp_plugins_;  // sorted; a set's nodes cost more on every idle connection
  std::shared_ptr<const Payload> pending_;
  std::string sent_hash_;
  std::uint64_t latest_sequence_ = 0;
  std::string latest_hash_;  // of the newest configuration delivered to this session
  std::atomic<bool> in_sync_{false};
  asio::steady_timer idle_timer_{ws_.get_executor()};
  std::chrono::steady_clock::time_point last_heard_;
  bool deadline_armed_ = false;
  bool subscribed_ = false;
  bool writing_ = false;
  bool closing_ = false;
  bool close_after_write_ = false;
};

void Listener::Impl::stop() {
  if (stopped_.exchange(true)) return;
  asio::post(ioc_, [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    purge_timer_.cancel();
  });
  for (auto& s : live_sessions()) s->disconnect("the control plane is shutting down");
  // Closing handshakes get a moment; then whatever is left is cut.
  for (int i = 0; i < 50 && open_.load() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ioc_.stop();
  if (thread_.joinable()) thread_.join();
  lookups_.join();
  // ioc_.stop() may have come before the cancellations above ran. Until their handlers run, the
  // pending accept and purge wait hold this Impl, which owns ioc_: a cycle nothing would break.
  // The I/O thread is gone, so close everything from here and run the handlers out (bounded).
  beast::error_code ignored;
  acceptor_.close(ignored);
  purge_timer_.cancel();
  for (auto& s : live_sessions()) s->cut();
  ioc_.restart();
  ioc_.run_for(std::chrono::seconds(2));
}

void Listener::Impl::accept() {
  acceptor_.async_accept(ioc_, [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
      auto timer = std::make_shared<asio::steady_timer>(self->ioc_, std::chrono::milliseconds(50));
      timer->async_wait([self, timer](beast::error_code) { self->accept(); });
      return;
    }
    if (self->open_.load() >= self->options_.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Session>(*self, std::move(socket))->start();
    }
    self->accept();
  });
}

Listener::Listener(store::Store& store, Hub& hub, ListenerOptions options)
    : impl_(std::make_shared<Impl>(store, hub, std::move(options))) {}

Listener::~Listener() { stop(); }

std::uint16_t Listener::start() { return impl_->start(); }

void Listener::stop() { impl_->stop(); }

std::size_t Listener::open_connections() const { return impl_->open_.load(); }

}  // namespace ok::cluster
