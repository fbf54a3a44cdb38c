#include "http/fd_tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <boost/asio/ssl/error.hpp>

#include <cerrno>
#include <cstdint>

namespace ok::http {
namespace {

// OpenSSL's own socket BIO writes with write(2), and a write to a connection the peer has reset
// raises SIGPIPE, which would end the process; send(2) with MSG_NOSIGNAL reports EPIPE instead.
int fd_of(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::send(fd_of(bio), data, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) {
    *written = static_cast<std::size_t>(n);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(bio);
  return 0;
}

int bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::recv(fd_of(bio), data, size, 0);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    *read = static_cast<std::size_t>(n);
    return 1;
  }
  if (n == 0) {
    // Lets OpenSSL tell a connection cut without close_notify from a failed read.
    BIO_set_flags(bio, BIO_FLAGS_IN_EOF);
  } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
    BIO_set_retry_read(bio);
  }
  return 0;
}

long bio_ctrl(BIO* bio, int cmd, long, void*) {
  if (cmd == BIO_CTRL_FLUSH) return 1;
  if (cmd == BIO_CTRL_EOF) return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0;
  return 0;
}

int bio_create(BIO*) { return 1; }
int bio_destroy(BIO*) { return 1; }  // the socket is Asio's to close

const BIO_METHOD* socket_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "openkonnect socket");
    if (m) {
      BIO_meth_set_write_ex(m, bio_write);
      BIO_meth_set_read_ex(m, bio_read);
      BIO_meth_set_ctrl(m, bio_ctrl);
      BIO_meth_set_create(m, bio_create);
      BIO_meth_set_destroy(m, bio_destroy);
    }
    return m;
  }();
  return method;
}

}  // namespace

FdTlsStream::FdTlsStream(boost::asio::ip::tcp::socket socket, boost::asio::ssl::context& context)
    : next_(std::move(socket)) {
  // Failures leave ssl_ null; every operation then fails with an error instead of throwing
  // into the accept loop.
  ERR_clear_error();
  boost::system::error_code ec;
  next_.socket().native_non_blocking(true, ec);
  const BIO_METHOD* method = socket_method();
  BIO* bio = method && !ec ? BIO_new(method) : nullptr;
  if (bio) {
    BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(next_.socket().native_handle())));
    BIO_set_init(bio, 1);
    ssl_ = SSL_new(context.native_handle());
  }
  if (ssl_) {
    SSL_set_bio(ssl_, bio, bio);
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  } else if (bio) {
    BIO_free(bio);
  }
  ERR_clear_error();
}

FdTlsStream::~FdTlsStream() {
  if (ssl_) SSL_free(ssl_);
}

FdTlsStream::Outcome FdTlsStream::step(Kind kind, void* data, std::size_t size) {
  namespace asio = boost::asio;
  // A closed socket's descriptor may already belong to another connection: OpenSSL must not
  // touch it.
  if (!next_.socket().is_open()) return {Want::nothing, 0, asio::error::bad_descriptor};
  if (!ssl_) return {Want::nothing, 0, asio::error::no_memory};
  ERR_clear_error();
  std::size_t bytes = 0;
  int result = 0;
  switch (kind) {
    case Kind::handshake:
      result = SSL_do_handshake(ssl_);
      break;
    case Kind::read:
      result = SSL_read_ex(ssl_, data, size, &bytes);
      break;
    case Kind::write:
      result = SSL_write_ex(ssl_, data, size, &bytes);
      break;
    case Kind::shutdown:
      // The first call sends close_notify; the second waits for the peer's, as Asio's does.
      result = SSL_shutdown(ssl_);
      if (result == 0) result = SSL_shutdown(ssl_);
      break;
  }
  const int saved_errno = errno;
  Outcome out{Want::nothing, bytes, {}};
  if (result <= 0) {
    out.bytes = 0;
    switch (SSL_get_error(ssl_, result)) {
      case SSL_ERROR_WANT_READ:
        out.want = Want::read;
        break;
      case SSL_ERROR_WANT_WRITE:
        out.want = Want::write;
        break;
      case SSL_ERROR_ZERO_RETURN:
        out.ec = asio::error::eof;
        break;
      case SSL_ERROR_SYSCALL:
        out.ec = saved_errno ? error_code(saved_errno, boost::system::system_category())
                             : error_code(asio::ssl::error::stream_truncated);
        break;
      default: {
        // An EOF without close_notify is "stream truncated", as from Asio's ssl::stream, so
        // Beast and the listener see what they saw before.
        const unsigned long e = ERR_peek_error();
        if (ERR_GET_LIB(e) == ERR_LIB_SSL && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
          out.ec = asio::ssl::error::stream_truncated;
        } else {
          out.ec = error_code(static_cast<int>(e ? e : ERR_PACK(ERR_LIB_SSL, 0, ERR_R_INTERNAL_ERROR)),
                              asio::error::get_ssl_category());
        }
      }
    }
  }
  ERR_clear_error();
  return out;
}

void teardown(boost::beast::role_type, FdTlsStream& stream, boost::system::error_code& ec) {
  // No blocking calls on this stream: a best-effort close_notify, then the connection ends.
  ec = {};
  if (SSL* ssl = stream.native_handle(); ssl && stream.next_layer().socket().is_open()) {
    ERR_clear_error();
    SSL_shutdown(ssl);
    ERR_clear_error();
  }
  boost::system::error_code ignored;
  stream.next_layer().socket().shutdown(boost::asio::socket_base::shutdown_both, ignored);
  stream.next_layer().socket().close(ec);
}

}  // namespace ok::http
