#include "http/server.hpp"

#include "errors/api_error.hpp"
#include "http/beast_parse.hpp"
#include "observability/log.hpp"
#include "observability/trace.hpp"

#include <fmt/format.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace ok::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// After an error response on a connection we will not reuse, the client may still be
// sending (a 2 MiB body after a 413). Closing at once would reset the connection and could
// destroy our response in flight; instead stop sending, drain for a moment, then close.
constexpr std::size_t kLingerDrainBytes = 8 * 1024 * 1024;
constexpr std::chrono::milliseconds kLingerTime{2000};

}  // namespace

class Server::Impl {
 public:
  Impl(Application& app, ServerOptions options)
      : app_(app),
        options_(std::move(options)),
        threads_(options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency())),
        ioc_(1),
        control_(asio::make_strand(ioc_)),
        acceptor_(control_),
        signals_(control_, SIGINT, SIGTERM),
        grace_timer_(control_),
        workers_(std::max(1u, options_.workers)),
        limits_{options_.max_header_bytes, options_.max_body_bytes} {
    for (unsigned i = 0; i < threads_; ++i) {
      connection_contexts_.push_back(std::make_unique<asio::io_context>(1));
      connection_guards_.push_back(asio::make_work_guard(*connection_contexts_.back()));
    }
  }

  void run(const std::function<void(std::uint16_t)>& on_listening);

  class Connection;
  template <class Stream>
  class Session;

  Application& app_;
  ServerOptions options_;
  unsigned threads_;
  // Accepting, signals and the shutdown sequence run on this context (on run()'s thread), on
  // one strand, so they never race each other (Asio objects are not safe for concurrent use).
  asio::io_context ioc_;
  asio::strand<asio::io_context::executor_type> control_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  asio::thread_pool workers_;
  ParseLimits limits_;  // the same rules parse_request applies (http/parse.hpp)
  std::atomic<bool> draining_{false};
  std::atomic<std::size_t> open_{0};
  // Deferred writes whose store callback has not yet returned: run() waits for them, because
  // that callback posts to the io_context, which must outlive it.
  std::atomic<std::size_t> deferred_in_flight_{0};
  // Connections are spread over one io_context per I/O thread (--threads). Each context runs on
  // one thread only, so a connection's handlers need no strand and the threads share no
  // scheduler lock: with one shared context, its lock and the wake-ups between its threads
  // were a visible part of every request's profile. Declared after ioc_: destroyed first.
  std::vector<std::unique_ptr<asio::io_context>> connection_contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> connection_guards_;
  std::size_t next_context_ = 0;  // used on control_ only
  asio::io_context& next_connection_context() {
    return *connection_contexts_[next_context_++ % connection_contexts_.size()];
  }
  // Ends run() at once, open connections or not.
  void stop_all() {
    ioc_.stop();
    for (auto& context : connection_contexts_) context->stop();
  }

  std::mutex sessions_mutex_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> sessions_;

  void do_accept();
  void begin_shutdown();
  void session_closed();
  void finish_if_drained();
};

// What the shutdown sequence needs of a connection, whatever its stream.
class Server::Impl::Connection {
 public:
  virtual ~Connection() = default;
  // An idle connection is closed now; a busy one closes after its answer.
  virtual void shutdown() = 0;
};

// One connection, plain (beast::tcp_stream) or TLS (TlsStream): the same request/response code
// for both, so every limit and timeout applies to TLS unchanged. Only the start (handshake) and
// the graceful end (close_notify) differ.
template <class Stream>
class Server::Impl::Session : public Server::Impl::Connection,
                              public std::enable_shared_from_this<Server::Impl::Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(Impl& server, Stream stream) : server_(server), stream_(std::move(stream)) {
    beast::error_code ec;
    auto endpoint = lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = endpoint.address().to_string();
    // Every write is a complete message or TLS flight, so Nagle's algorithm can only delay, not
    // coalesce: over TLS, an answer written right after the session tickets (or a response
    // larger than one 16 KiB record) waited for the client's delayed ACK, 40 ms.
    lowest().socket().set_option(tcp::no_delay(true), ec);
  }

  ~Session() override { server_.session_closed(); }

  void start() {
    {
      std::lock_guard lock(server_.sessions_mutex_);
      server_.sessions_[this] = this->weak_from_this();
    }
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void shutdown() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle_) self->close();
    });
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void begin() {
    if constexpr (kTls) {
      // No request is in flight during the handshake, so shutdown may close it like an idle
      // connection. The read timeout bounds it: a client that connects and sends nothing (or
      // dribbles its hello) holds a slot no longer than a slow request would.
      idle_ = true;
      lowest().expires_after(server_.options_.read_timeout);
      stream_.async_handshake(asio::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        self->idle_ = false;
        // Plain HTTP sent to this port, a TLS version or cipher we refuse, a port scanner: the
        // client's mistake, answered by closing, and not worth a log line per connection.
        if (ec) return self->close();
        self->wait_for_request();
      });
    } else {
      wait_for_request();
    }
  }

  void unregister() {
    std::lock_guard lock(server_.sessions_mutex_);
    server_.sessions_.erase(this);
  }

  // Between requests: wait (up to idle_timeout) for the first byte of the next request.
  void wait_for_request() {
    if (server_.draining_) return close();
    if (buffer_.size() > 0) return read_header();
    idle_ = true;
    lowest().expires_after(server_.options_.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->idle_ = false;
                              if (ec) return self->close();
                              self->buffer_.commit(n);
                              self->read_header();
                            });
  }

  void read_header() {
    parser_.emplace();
    detail::apply_limits(*parser_, server_.limits_);
    request_ = Request{};
    request_.trace_id = observability::next_trace_id();
    request_.remote_address = remote_;
    lowest().expires_after(server_.options_.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t consumed) {
                               if (!ec && detail::header_too_large(consumed, self->server_.limits_)) {
                                 ec = bhttp::error::header_limit;
                               }
                               self->on_header(ec);
                             });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    const auto& header = parser_->get();
    if (auto problem = detail::framing_problem(*parser_); !problem.empty()) {
      fill_partial_request();
      return send_error(detail::malformed_request(std::move(problem)));
    }
    if (header[bhttp::field::expect] == "100-continue" || header[bhttp::field::expect] == "100-Continue") {
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_, 11);
      lowest().expires_after(server_.options_.write_timeout);
      bhttp::async_write(stream_, *cont, [self = this->shared_from_this(), cont](beast::error_code wec, std::size_t) {
        if (wec) return self->close();
        self->read_body();
      });
      return;
    }
    read_body();
  }

  void read_body() {
    lowest().expires_after(server_.options_.read_timeout);
    bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->on_read_error(ec);
      self->on_request();
    });
  }

  void fill_partial_request() {
    if (parser_) detail::fill_partial(*parser_, request_);
  }

  void on_read_error(beast::error_code ec) {
    auto error = detail::read_error(ec, server_.limits_);
    // The client went away or was too slow: nothing to answer.
    if (!error) return close();
    fill_partial_request();
    send_error(*error);
  }

  void send_error(const errors::ApiError& error) {
    auto response = server_.app_.transport_error(error, request_);
    write(std::move(response), false);
  }

  void on_request() {
    auto message = parser_->release();
    parser_.reset();
    const bool keep_alive = message.keep_alive();
    detail::fill_request(std::move(message), request_);
    std::shared_ptr<Exchange> begun = server_.app_.begin(request_);
    if (begun->next == Exchange::Next::deferred_write) return start_deferred(begun, keep_alive);
    if (begun->next == Exchange::Next::respond) return write(std::move(begun->response), keep_alive);
    // The handler runs on a worker; the connection waits (it reads nothing meanwhile, so
    // request_ is not touched by anyone else) and writes the answer on its own strand.
    busy_ = true;
    asio::post(server_.workers_, [self = this->shared_from_this(), keep_alive, begun] {
      auto response = self->server_.app_.complete(*begun);
      asio::post(self->stream_.get_executor(), [self, keep_alive, response = std::move(response)]() mutable {
        self->busy_ = false;
        self->write(std::move(response), keep_alive);
      });
    });
  }

  // A write that no thread waits for: the store's writer calls back once it is durable (or
  // failed), and the answer is made and written back here, on the connection's own thread.
  void start_deferred(const std::shared_ptr<Exchange>& begun, bool keep_alive) {
    busy_ = true;
    server_.deferred_in_flight_.fetch_add(1);
    server_.app_.start_deferred(
        *begun, [self = this->shared_from_this(), keep_alive, begun](std::exception_ptr error) mutable {
          // Everything this callback holds moves into the posted handler: once it returns, the
          // store's thread keeps no reference to the connection.
          struct Returned {  // counted out however this callback ends
            std::atomic<std::size_t>& in_flight;
            ~Returned() { in_flight.fetch_sub(1); }
          } returned{self->server_.deferred_in_flight_};
          auto executor = self->stream_.get_executor();
          asio::post(executor, [self = std::move(self), keep_alive, begun = std::move(begun), error] {
            auto response = self->server_.app_.finish_deferred(*begun, error);
            self->busy_ = false;
            self->write(std::move(response), keep_alive);
          });
        });
  }

  void write(Response response, bool keep_alive) {
    keep_alive = keep_alive && !response.close_connection && !server_.draining_;
    auto message = std::make_shared<bhttp::response<bhttp::string_body>>();
    message->version(11);
    message->result(response.status);
    message->set(bhttp::field::server, "openkonnect");
    if (!response.content_type.empty()) message->set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    message->keep_alive(keep_alive);
    message->prepare_payload();
    lowest().expires_after(server_.options_.write_timeout);
    auto written = [self = this->shared_from_this(), message, keep_alive, linger = response.close_connection](
                       beast::error_code ec, std::size_t) {
      if (ec) return self->close();
      if (!keep_alive) return linger ? self->linger_close() : self->graceful_close();
      self->wait_for_request();
    };
    if (request_.method == "HEAD") {
      // The header block a GET would get, Content-Length included, and no content (RFC 9110
      // 9.3.2): the client reads no body, so sending one would corrupt the next response.
      auto serializer = std::make_shared<bhttp::response_serializer<bhttp::string_body>>(*message);
      bhttp::async_write_header(
          stream_, *serializer,
          [serializer, written = std::move(written)](beast::error_code ec, std::size_t n) mutable { written(ec, n); });
      return;
    }
    bhttp::async_write(stream_, *message, std::move(written));
  }

  void graceful_close() {
    if constexpr (kTls) return tls_close();
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    linger_close();
  }

  void linger_close() {
    if constexpr (kTls) return tls_close();
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    lowest().expires_after(kLingerTime);
    drain();
  }

  void drain() {
    buffer_.consume(buffer_.size());
    lowest().async_read_some(buffer_.prepare(64 * 1024),
                             [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                               self->drained_ += n;
                               if (ec || self->drained_ > kLingerDrainBytes) return self->close();
                               self->buffer_.commit(n);
                               self->drain();
                             });
  }

  // The TLS form of a graceful or lingering close: send close_notify, so the client knows the
  // stream ended on purpose, and wait for the client's, within the linger time. OpenSSL gives up
  // waiting at the first application record that arrives instead (the rest of a refused
  // upload); closing then would reset the connection and could destroy the answer in flight, so
  // the rest of the linger time drains the TCP connection as for a plain one.
  void tls_close() {
    lowest().expires_after(kLingerTime);
    stream_.async_shutdown([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec || ec == beast::error::timeout) return self->close();
      beast::error_code ignored;
      self->lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
      self->drain();
    });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    unregister();
    beast::error_code ec;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest().socket().close(ec);
  }

  Impl& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  Request request_;
  std::string remote_;
  bool idle_ = false;
  bool busy_ = false;
  bool closed_ = false;
  std::size_t drained_ = 0;
};

void Server::Impl::do_accept() {
  acceptor_.async_accept(next_connection_context().get_executor(), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      observability::log_event(observability::Level::warn, "accept failed", 0, ec.message());
      // Out of file descriptors and the like: back off briefly rather than spin.
      auto timer = std::make_shared<asio::steady_timer>(ioc_, std::chrono::milliseconds(50));
      timer->async_wait([this, timer](beast::error_code) { do_accept(); });
      return;
    }
    if (open_.load() >= options_.max_connections || draining_) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      open_.fetch_add(1);
      app_.connection_opened();
      if (options_.tls) {
        std::make_shared<Session<TlsStream>>(*this, TlsStream(std::move(socket), *options_.tls))->start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(*this, beast::tcp_stream(std::move(socket)))->start();
      }
    }
    do_accept();
  });
}

void Server::Impl::session_closed() {
  open_.fetch_sub(1);
  app_.connection_closed();
  if (draining_) asio::post(control_, [this] { finish_if_drained(); });
}

// On the control strand: once draining and no connection is left, cancel what keeps the
// io_context busy (the second-signal wait and the grace timer) so run() returns.
void Server::Impl::finish_if_drained() {
  if (!draining_ || open_.load() != 0) return;
  beast::error_code ec;
  signals_.cancel(ec);
  grace_timer_.cancel();
}

void Server::Impl::begin_shutdown() {
  if (draining_.exchange(true)) return;
  observability::log_event(observability::Level::info, "shutting down: no new connections, finishing open requests");
  beast::error_code ec;
  acceptor_.close(ec);
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(sessions_mutex_);
    for (auto& [ptr, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  grace_timer_.expires_after(options_.shutdown_grace);
  grace_timer_.async_wait([this](beast::error_code wait_ec) {
    if (wait_ec) return;  // cancelled: every connection closed in time
    observability::log_event(observability::Level::warn, "shutdown grace period over; closing remaining connections");
    stop_all();
  });
  // A second signal ends the wait at once.
  signals_.async_wait([this](beast::error_code wait_ec, int) {
    if (!wait_ec) stop_all();
  });
  for (auto& s : live) s->shutdown();
  live.clear();
  finish_if_drained();
}

void Server::Impl::run(const std::function<void(std::uint16_t)>& on_listening) {
  beast::error_code ec;
  const auto address = asio::ip::make_address(options_.host, ec);
  if (ec) throw std::runtime_error(fmt::format("invalid listen address [{}]: {}", options_.host, ec.message()));
  tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(fmt::format("cannot listen on {}:{}: {}", options_.host, options_.port, ec.message()));
  }
  const auto bound = acceptor_.local_endpoint().port();
  signals_.async_wait([this](beast::error_code wait_ec, int) {
    if (!wait_ec) begin_shutdown();
  });
  do_accept();
  if (on_listening) on_listening(bound);

  std::vector<std::thread> io_threads;
  for (auto& context : connection_contexts_) io_threads.emplace_back([&context] { context->run(); });
  ioc_.run();  // returns once shut down: drained (no connection left), or stopped
  for (auto& guard : connection_guards_) guard.reset();
  for (auto& t : io_threads) t.join();
  workers_.join();
  // After a forced stop, deferred writes may still be queued in the store; each ends (durable
  // or failed) and calls back, and those calls reference ioc_.
  while (deferred_in_flight_.load() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

Server::Server(Application& app, ServerOptions options) : impl_(std::make_unique<Impl>(app, std::move(options))) {}
Server::~Server() = default;

void Server::run(const std::function<void(std::uint16_t)>& on_listening) { impl_->run(on_listening); }

}  // namespace ok::http
