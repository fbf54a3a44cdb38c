#pragma once
// A TLS stream that runs OpenSSL straight on the socket, for the data-plane cluster listener.
//
// Why it exists: thousands of data planes hold idle connections to the cluster listener, and
// Asio's ssl::stream costs too much memory on each. Its stream_core keeps two zero-filled
// 17 KiB vectors per connection and its engine a 2 x 17 KiB BIO pair, whether or not anything
// moves; an idle data plane measured 53-68 KiB against a target of at most 64 KiB, although
// OpenSSL's own record buffers are already released while idle (SSL_MODE_RELEASE_BUFFERS).
// Here OpenSSL reads and writes the non-blocking socket itself, through a BIO with no buffer of
// its own, and Asio only reports readiness: an idle connection holds the SSL object and nothing
// else. It does only what the listener needs: a server handshake, Beast's AsyncStream, and
// WebSocket teardown.

#include <openssl/ssl.h>
#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/teardown.hpp>

#include <cstddef>
#include <vector>

namespace ok::http {

class FdTlsStream {
 public:
  using next_layer_type = boost::beast::tcp_stream;
  using executor_type = next_layer_type::executor_type;
  using error_code = boost::system::error_code;

  FdTlsStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context);
  ~FdTlsStream();
  FdTlsStream(const FdTlsStream&) = delete;
  FdTlsStream& operator=(const FdTlsStream&) = delete;

  executor_type get_executor() noexcept { return next_.get_executor(); }
  next_layer_type& next_layer() noexcept { return next_; }
  const next_layer_type& next_layer() const noexcept { return next_; }
  SSL* native_handle() noexcept { return ssl_; }

  template <class Handler>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type type, Handler&& handler) {
    if (ssl_) {
      type == boost::asio::ssl::stream_base::server ? SSL_set_accept_state(ssl_) : SSL_set_connect_state(ssl_);
    }
    return boost::asio::async_compose<Handler, void(error_code)>(Op<false>{*this, Kind::handshake}, handler, *this);
  }

  template <class Handler>
  auto async_shutdown(Handler&& handler) {
    return boost::asio::async_compose<Handler, void(error_code)>(Op<false>{*this, Kind::shutdown}, handler, *this);
  }

  // Reads into the first non-empty buffer only: Beast reads into one buffer anyway.
  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    Op<true> op{*this, Kind::read};
    for (auto it = boost::asio::buffer_sequence_begin(buffers); it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::mutable_buffer b(*it);
      if (b.size() == 0) continue;
      op.data = b.data();
      op.size = b.size();
      break;
    }
    return boost::asio::async_compose<Handler, void(error_code, std::size_t)>(std::move(op), handler, *this);
  }

  // A small first buffer (a WebSocket frame header, an HTTP header) is gathered with what
  // follows into one TLS record, rather than sent as a record of its own.
  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    Op<true> op{*this, Kind::write};
    const auto begin = boost::asio::buffer_sequence_begin(buffers);
    const auto end = boost::asio::buffer_sequence_end(buffers);
    auto it = begin;
    while (it != end && boost::asio::const_buffer(*it).size() == 0) ++it;
    if (it != end) {
      const boost::asio::const_buffer first(*it);
      if (first.size() < kRecord && boost::asio::buffer_size(buffers) > first.size()) {
        op.gathered.resize(std::min(boost::asio::buffer_size(buffers), kRecord));
        boost::asio::buffer_copy(boost::asio::buffer(op.gathered), buffers);
        op.data = op.gathered.data();
        op.size = op.gathered.size();
      } else {
        op.data = const_cast<void*>(first.data());  // only ever written from
        op.size = first.size();
      }
    }
    return boost::asio::async_compose<Handler, void(error_code, std::size_t)>(std::move(op), handler, *this);
  }

 private:
  static constexpr std::size_t kRecord = 16 * 1024;  // TLS's largest record payload

  enum class Kind { handshake, read, write, shutdown };
  enum class Want { nothing, read, write };
  struct Outcome {
    Want want = Want::nothing;
    std::size_t bytes = 0;
    error_code ec;
  };

  // One OpenSSL call, never blocking; leaves the thread's OpenSSL error queue empty.
  Outcome step(Kind kind, void* data, std::size_t size);

  // Calls OpenSSL, waits for whatever readiness it asks for (a read may need to write and a
  // write to read), and calls again. A result ready at once is posted, never run inline.
  template <bool WithBytes>
  struct Op {
    FdTlsStream& stream;
    Kind kind;
    void* data = nullptr;
    std::size_t size = 0;
    std::vector<unsigned char> gathered;  // moves keep its data where it is
    bool waited = false;
    bool done = false;
    Outcome result;

    template <class Self>
    void operator()(Self& self, error_code wait_ec = {}) {
      if (!done) {
        if (wait_ec) {
          result = {Want::nothing, 0, wait_ec};
        } else if ((kind == Kind::read || kind == Kind::write) && size == 0) {
          result = {};
        } else {
          result = stream.step(kind, data, size);
        }
        if (result.want != Want::nothing) {
          waited = true;
          const auto what =
              result.want == Want::read ? boost::asio::socket_base::wait_read : boost::asio::socket_base::wait_write;
          return stream.next_.socket().async_wait(what, std::move(self));
        }
        done = true;
        if (!waited) return boost::asio::post(std::move(self));
      }
      if constexpr (WithBytes) {
        self.complete(result.ec, result.bytes);
      } else {
        self.complete(result.ec);
      }
    }
  };

  next_layer_type next_;
  SSL* ssl_ = nullptr;
};

// WebSocket teardown, found by ADL: close_notify, then the TCP teardown of the layer below.
void teardown(boost::beast::role_type role, FdTlsStream& stream, boost::system::error_code& ec);

namespace detail {
struct FdTlsTeardown {
  FdTlsStream& stream;
  boost::beast::role_type role;
  int stage = 0;
  boost::system::error_code shutdown_ec;

  template <class Self>
  void operator()(Self& self, boost::system::error_code ec = {}) {
    if (stage == 0) {
      stage = 1;
      return stream.async_shutdown(std::move(self));
    }
    if (stage == 1) {
      stage = 2;
      shutdown_ec = ec;
      using boost::beast::websocket::async_teardown;
      return async_teardown(role, stream.next_layer(), std::move(self));
    }
    self.complete(shutdown_ec ? shutdown_ec : ec);
  }
};
}  // namespace detail

template <class Handler>
auto async_teardown(boost::beast::role_type role, FdTlsStream& stream, Handler&& handler) {
  return boost::asio::async_compose<Handler, void(boost::system::error_code)>(detail::FdTlsTeardown{stream, role},
                                                                              handler, stream);
}

}  // namespace ok::http
