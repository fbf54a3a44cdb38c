#pragma once
// The HTTP/1.1 server (Boost.Beast): accepts connections, reads one request at a time per
// connection (so pipelined requests are answered in order), enforces the transport limits,
// and hands complete requests to the application.
//
// Limits and their answers: header block > max_header_bytes -> 431; body > max_body_bytes
// -> 413; a client idle longer than idle_timeout between requests, or slower than
// read_timeout to send one, is disconnected; connections beyond max_connections are closed
// at once. SIGTERM/SIGINT stop accepting, let in-flight requests finish, and return from
// run() within shutdown_grace.
//
// With `tls` set, every connection first completes a TLS handshake (within read_timeout; one
// that fails is closed unanswered), then behaves exactly as a plain one; a connection that ends
// on purpose ends with close_notify.

#include "http/application.hpp"
#include "http/request.hpp"

#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ok::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;
  unsigned threads = 0;  // I/O threads; 0: one per core
  // Threads that run request handlers. Handlers block on the database (a durable write
  // waits for its group commit), so there are more of them than cores: while some wait
  // for an fsync, their writes join the same batch.
  unsigned workers = 32;
  std::size_t max_header_bytes = 16 * 1024;
  std::uint64_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  std::size_t max_connections = 10'000;
  // Null: plain HTTP (the loopback default, or behind a proxy that terminates TLS). Otherwise
  // made by make_server_tls_context (http/tls.hpp) and shared by every connection.
  std::shared_ptr<boost::asio::ssl::context> tls;
};

class Server {
 public:
  Server(Application& app, ServerOptions options);
  ~Server();

  // Binds, then serves until SIGTERM or SIGINT. Throws std::runtime_error if it cannot bind.
  // `on_listening` is called with the bound port once accepting.
  void run(const std::function<void(std::uint16_t)>& on_listening = {});

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ok::http
