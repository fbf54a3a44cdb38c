#include "audit/webhook_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <openssl/ssl.h>

#include <cstdint>
#include <future>

namespace ok::audit {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct Target {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string host_header;  // host[:port] as in the URL
  std::string path;         // with the query
};

template <typename Stream>
asio::awaitable<WebhookAnswer> exchange(Stream& stream, bhttp::request<bhttp::string_body>& message) {
  co_await bhttp::async_write(stream, message, asio::use_awaitable);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(std::uint64_t{64} * 1024);  // a receiver's answer is read for its status only
  co_await bhttp::async_read(stream, buffer, parser, asio::use_awaitable);
  const auto& response = parser.get();
  co_return WebhookAnswer{response.result_int(), std::string(response.reason())};
}

asio::awaitable<WebhookAnswer> send(const Target& target, const WebhookPost& request, asio::ssl::context& ssl) {
  auto executor = co_await asio::this_coro::executor;
  tcp::resolver resolver(executor);
  const auto addresses = co_await resolver.async_resolve(target.host, target.port, asio::use_awaitable);
  beast::tcp_stream tcp_stream(executor);
  tcp_stream.expires_after(request.timeout);
  co_await tcp_stream.async_connect(addresses, asio::use_awaitable);

  bhttp::request<bhttp::string_body> message{bhttp::verb::post, target.path, 11};
  message.set(bhttp::field::host, target.host_header);
  message.set(bhttp::field::user_agent, "openkonnect-audit");
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.body() = request.body;
  message.prepare_payload();

  if (!target.tls) co_return co_await exchange(tcp_stream, message);
  beast::ssl_stream<beast::tcp_stream> tls_stream(std::move(tcp_stream), ssl);
  if (!SSL_set_tlsext_host_name(tls_stream.native_handle(), target.host.c_str())) {
    co_return WebhookAnswer{0, "TLS: the receiver's name cannot be sent (SNI)"};
  }
  if (!request.skip_ssl_verification) {
    tls_stream.set_verify_mode(asio::ssl::verify_peer);
    tls_stream.set_verify_callback(asio::ssl::host_name_verification(target.host));
  }
  co_await tls_stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  co_return co_await exchange(tls_stream, message);
}

}  // namespace

WebhookClient::WebhookClient() : verifying_(asio::ssl::context::tls_client), trusting_(asio::ssl::context::tls_client) {
  verifying_.set_default_verify_paths();
  verifying_.set_verify_mode(asio::ssl::verify_peer);
  trusting_.set_verify_mode(asio::ssl::verify_none);
}

WebhookAnswer WebhookClient::post(const WebhookPost& request) {
  const auto url = boost::urls::parse_uri(request.endpoint);
  if (!url) return {0, "the endpoint is not a URL"};
  Target target;
  target.tls = url->scheme() == "https";
  if (!target.tls && url->scheme() != "http") return {0, "the endpoint is neither http:// nor https://"};
  target.host = url->host_type() == boost::urls::host_type::ipv6 ? url->host_address() : url->host();
  target.host_header = std::string(url->encoded_host_and_port());
  target.port = url->has_port() ? std::string(url->port()) : (target.tls ? "443" : "80");
  target.path = url->encoded_path().empty() ? "/" : std::string(url->encoded_path());
  if (url->has_query()) target.path += "?" + std::string(url->encoded_query());

  asio::io_context io;
  auto answer = asio::co_spawn(io, send(target, request, request.skip_ssl_verification ? trusting_ : verifying_),
                               asio::use_future);
  // The stream's deadline covers connecting, TLS, writing and reading; this one the name lookup too.
  io.run_for(request.timeout + std::chrono::seconds(1));
  if (answer.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    io.stop();
    return {0, "timed out"};
  }
  try {
    return answer.get();
  } catch (const boost::system::system_error& e) {
    return {0, e.code() == beast::error::timeout ? "timed out" : e.code().message()};
  } catch (const std::exception& e) {
    return {0, e.what()};
  }
}

}  // namespace ok::audit
