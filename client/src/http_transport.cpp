// The real Transport: Boost.Beast over TCP or TLS. Each connection owns an io_context that
// only the thread using the connection runs, so a request is plain sequential code (each step
// started asynchronously, so that the stream's deadline applies, then run to completion), and
// threads share nothing but the pool's mutex and the TLS context.
#include <cerrno>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include "openkonnect/client/transport.hpp"

namespace openkonnect::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

namespace {

// A list page of 1000 large entities (certificates with their PEM) stays well below this.
constexpr std::uint64_t kMaxBodyBytes = 64ull * 1024 * 1024;

struct Endpoint {
  bool tls = false;
  std::string host;         // for resolving, SNI and certificate checks: no brackets
  std::string port;         // decimal
  std::string host_header;  // as the URL spells it, with brackets and a non-default port
  std::string prefix;       // path prefix without a trailing '/'
};

Result<Endpoint> parse_base_url(const std::string& base_url) {
  auto parsed = boost::urls::parse_uri(base_url);
  if (!parsed) return transport_error(TransportFailure::Connect, "invalid base URL [" + base_url + "]");
  const auto& url = *parsed;
  Endpoint endpoint;
  if (url.scheme() == "https") {
    endpoint.tls = true;
  } else if (url.scheme() != "http") {
    return transport_error(TransportFailure::Connect, "base URL scheme must be http or https: [" + base_url + "]");
  }
  endpoint.host = std::string(url.host_address());
  if (endpoint.host.empty())
    return transport_error(TransportFailure::Connect, "base URL has no host: [" + base_url + "]");
  endpoint.port = url.has_port() ? std::string(url.port()) : (endpoint.tls ? "443" : "80");
  endpoint.host_header = std::string(url.encoded_host_and_port());
  endpoint.prefix = std::string(url.encoded_path());
  while (!endpoint.prefix.empty() && endpoint.prefix.back() == '/') endpoint.prefix.pop_back();
  return endpoint;
}

http::verb verb_of(Method method) {
  switch (method) {
    case Method::Get:
      return http::verb::get;
    case Method::Head:
      return http::verb::head;
    case Method::Post:
      return http::verb::post;
    case Method::Put:
      return http::verb::put;
    case Method::Patch:
      return http::verb::patch;
    case Method::Delete:
      return http::verb::delete_;
  }
  return http::verb::get;
}

// Runs the asynchronous operation that `start` begins until it completes; returns its error.
template <class Start>
error_code run(asio::io_context& context, Start&& start) {
  error_code result;
  start([&result](error_code ec, auto&&...) { result = ec; });
  context.restart();
  context.run();
  return result;
}

// A keep-alive connection: its own io_context, a TCP or TLS stream, and the read buffer (which
// may hold bytes of nothing yet: HTTP/1.1 answers one request at a time here).
struct Connection {
  asio::io_context context{1};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
};

// A broken reused connection: the server closed it while it sat idle.
bool is_stale(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

class HttpTransport final : public Transport {
 public:
  HttpTransport(HttpTransportOptions options, Endpoint endpoint, std::unique_ptr<asio::ssl::context> tls_context)
      : options_(std::move(options)), endpoint_(std::move(endpoint)), tls_context_(std::move(tls_context)) {}

  Result<Response> send(const Request& request) override {
    const auto deadline = Clock::now() + request.timeout;
    if (auto connection = take_idle()) {
      bool stale = false;
      auto exchanged = exchange(*connection, request, deadline, &stale);
      // The connection broke before any answer: the server closed it as the request went out.
      // A GET, PUT or DELETE goes again on a new connection; a POST or PATCH might have been
      // carried out, so its failure is returned (take_idle's check makes this rare).
      if (!stale || !is_idempotent(request.method)) return finish(std::move(connection), std::move(exchanged));
    }
    auto connection = std::make_unique<Connection>();
    if (auto opened = open(*connection, deadline); !opened) return std::move(opened).error();
    auto exchanged = exchange(*connection, request, deadline, nullptr);
    return finish(std::move(connection), std::move(exchanged));
  }

 private:
  struct Exchanged {
    Result<Response> response;
    bool keep_alive = false;
  };

  Result<Response> finish(std::unique_ptr<Connection> connection, Exchanged exchanged) {
    if (exchanged.response && exchanged.keep_alive) give_back(std::move(connection));
    return std::move(exchanged.response);
  }

  // The most recently used idle connection that the server has not closed. A server closes
  // an idle keep-alive connection with a FIN (or a TLS close_notify) that is already waiting
  // in the socket, so a look without blocking tells most closed connections from open ones
  // before a request is risked on them.
  std::unique_ptr<Connection> take_idle() {
    for (;;) {
      std::unique_ptr<Connection> connection;
      {
        std::lock_guard lock(mutex_);
        if (idle_.empty()) return nullptr;
        connection = std::move(idle_.back());
        idle_.pop_back();
      }
      if (is_open(*connection)) return connection;
    }
  }

  // Open: nothing to read yet. End of stream, an error, or bytes nobody asked for (a
  // close_notify, or garbage) all make the connection unusable.
  static bool is_open(Connection& connection) {
    char byte = 0;
    const auto received = ::recv(connection.lowest().socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void give_back(std::unique_ptr<Connection> connection) {
    std::lock_guard lock(mutex_);
    if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(connection));
  }

  static Error failure(TransportFailure step, const error_code& ec, Clock::time_point deadline, const char* what) {
    if (ec == beast::error::timeout || Clock::now() >= deadline) {
      return transport_error(TransportFailure::Timeout, std::string("timed out during ") + what);
    }
    return transport_error(step, std::string(what) + ": " + ec.message());
  }

  Result<void> open(Connection& connection, Clock::time_point deadline) {
    // The resolver has no deadline of its own: a timer cancels it.
    tcp::resolver resolver(connection.context);
    asio::steady_timer timer(connection.context, deadline);
    tcp::resolver::results_type endpoints;
    error_code resolve_ec;
    timer.async_wait([&resolver](error_code ec) {
      if (!ec) resolver.cancel();
    });
    resolver.async_resolve(endpoint_.host, endpoint_.port, [&](error_code ec, tcp::resolver::results_type results) {
      resolve_ec = ec;
      endpoints = std::move(results);
      timer.cancel();
    });
    connection.context.restart();
    connection.context.run();
    if (resolve_ec) return failure(TransportFailure::Connect, resolve_ec, deadline, "resolving the host");

    if (tls_context_) {
      connection.tls.emplace(connection.context, *tls_context_);
    } else {
      connection.plain.emplace(connection.context);
    }
    auto& tcp_stream = connection.lowest();
    tcp_stream.expires_at(deadline);
    if (auto ec = run(connection.context, [&](auto handler) { tcp_stream.async_connect(endpoints, handler); })) {
      return failure(TransportFailure::Connect, ec, deadline, "connecting");
    }
    tcp_stream.socket().set_option(tcp::no_delay(true));
    if (!connection.tls) return {};

    auto& stream = *connection.tls;
    error_code ec;
    const bool is_ip = (asio::ip::make_address(endpoint_.host, ec), !ec);
    // SNI names a host, never an address (RFC 6066).
    if (!is_ip && SSL_set_tlsext_host_name(stream.native_handle(), endpoint_.host.c_str()) != 1) {
      return transport_error(TransportFailure::Tls, "cannot set the TLS server name");
    }
    if (options_.verify_peer) stream.set_verify_callback(asio::ssl::host_name_verification(endpoint_.host));
    if (auto handshake_ec = run(connection.context, [&](auto handler) {
          stream.async_handshake(asio::ssl::stream_base::client, handler);
        })) {
      return failure(TransportFailure::Tls, handshake_ec, deadline, "the TLS handshake");
    }
    return {};
  }

  template <class Stream>
  Exchanged exchange_on(Connection& connection, Stream& stream, const Request& request, Clock::time_point deadline,
                        bool* stale) {
    http::request<http::string_body> message(verb_of(request.method), endpoint_.prefix + request.target, 11);
    message.set(http::field::host, endpoint_.host_header);
    message.set(http::field::user_agent, options_.user_agent);
    for (const auto& [name, value] : request.headers) message.set(name, value);
    if (!request.body.empty() || request.method == Method::Post || request.method == Method::Put ||
        request.method == Method::Patch) {
      message.body() = request.body;
      message.prepare_payload();
    }
    message.keep_alive(true);

    connection.lowest().expires_at(deadline);
    if (auto ec = run(connection.context, [&](auto handler) { http::async_write(stream, message, handler); })) {
      if (stale != nullptr && is_stale(ec)) *stale = true;
      return {failure(TransportFailure::Connect, ec, deadline, "sending the request")};
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    if (request.method == Method::Head) parser.skip(true);
    auto ec =
        run(connection.context, [&](auto handler) { http::async_read(stream, connection.buffer, parser, handler); });
    if (ec) {
      if (stale != nullptr && is_stale(ec) && !parser.got_some()) {
        *stale = true;
        return {failure(TransportFailure::Connect, ec, deadline, "reading the response")};
      }
      const bool malformed =
          &ec.category() == &http::make_error_code(http::error::end_of_stream).category() && !is_stale(ec);
      return {failure(malformed ? TransportFailure::Protocol : TransportFailure::Connect, ec, deadline,
                      "reading the response")};
    }
    auto answer = parser.release();
    Response response{.status = static_cast<int>(answer.result_int()), .body = std::move(answer.body())};
    for (const auto& field : answer) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    return {std::move(response), answer.keep_alive()};
  }

  Exchanged exchange(Connection& connection, const Request& request, Clock::time_point deadline, bool* stale) {
    if (connection.tls) return exchange_on(connection, *connection.tls, request, deadline, stale);
    return exchange_on(connection, *connection.plain, request, deadline, stale);
  }

  HttpTransportOptions options_;
  Endpoint endpoint_;
  std::unique_ptr<asio::ssl::context> tls_context_;  // null for http
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

}  // namespace

Result<std::shared_ptr<Transport>> make_http_transport(const HttpTransportOptions& options) {
  auto endpoint = parse_base_url(options.base_url);
  if (!endpoint) return std::move(endpoint).error();
  std::unique_ptr<asio::ssl::context> tls_context;
  if (endpoint->tls) {
    tls_context = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    tls_context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                             asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                             asio::ssl::context::no_tlsv1_1);
    error_code ec;
    if (options.ca_file.empty()) {
      tls_context->set_default_verify_paths(ec);
    } else {
      tls_context->load_verify_file(options.ca_file, ec);
    }
    if (ec) {
      return transport_error(TransportFailure::Tls, "cannot load the trusted certificates: " + ec.message());
    }
    tls_context->set_verify_mode(options.verify_peer ? asio::ssl::verify_peer : asio::ssl::verify_none);
  }
  return std::shared_ptr<Transport>(
      std::make_shared<HttpTransport>(options, std::move(*endpoint), std::move(tls_context)));
}

}  // namespace openkonnect::client
