// The typed calls: which request each one sends (method, encoded path, headers, body), and what
// it makes of the answer.
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/buffers_iterator.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include "fake_transport.hpp"

namespace openkonnect::client {
namespace {

namespace bj = boost::json;
using testing::answer;
using testing::FakeTransport;
using testing::problem;

struct Fixture {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  Client client{Options{.token = "kpat_abc", .timeout = std::chrono::milliseconds(1500)}, transport};
  const Request& last() const { return transport->requests.back(); }
};

TEST(Encoding, PathSegmentsKeepOnlyUnreservedCharacters) {
  EXPECT_EQ(encode_segment("orders-v1.2_~"), "orders-v1.2_~");
  EXPECT_EQ(encode_segment("a b/c?d#e%f"), "a%20b%2Fc%3Fd%23e%25f");
  EXPECT_EQ(encode_segment("10.0.0.1:8000"), "10.0.0.1%3A8000");
  EXPECT_EQ(encode_segment("\xC3\xA9"), "%C3%A9");
  EXPECT_EQ(with_query("/x", {}), "/x");
  EXPECT_EQ(with_query("/x", {{"page[size]", "1"}, {"tags", "a/b"}}), "/x?page%5Bsize%5D=1&tags=a%2Fb");
}

TEST(Requests, CarryTheTokenAcceptAndTimeoutAndJsonBodies) {
  Fixture f;
  f.transport->script({answer(201, R"({"id":"cp1","name":"prod"})")});
  auto created = f.client.create_control_plane({{"name", "prod"}, {"labels", {{"env", "test"}}}});
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->at("name").as_string(), "prod");
  const auto& request = f.last();
  EXPECT_EQ(request.method, Method::Post);
  EXPECT_EQ(request.target, "/v2/control-planes");
  EXPECT_EQ(find_header(request.headers, "Authorization"), "Bearer kpat_abc");
  EXPECT_EQ(find_header(request.headers, "content-type"), "application/json");
  EXPECT_EQ(find_header(request.headers, "Accept"), "application/json");
  EXPECT_EQ(request.timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(bj::parse(request.body), bj::parse(R"({"name":"prod","labels":{"env":"test"}})"));
}

TEST(Requests, AGetHasNoBodyAndNoContentType) {
  Fixture f;
  f.transport->script({answer(200, R"({"id":"u"})")});
  ASSERT_TRUE(f.client.me());
  EXPECT_EQ(f.last().method, Method::Get);
  EXPECT_EQ(f.last().target, "/v3/users/me");
  EXPECT_EQ(f.last().body, "");
  EXPECT_EQ(find_header(f.last().headers, "Content-Type"), "");
}

TEST(ControlPlanes, EachCallHasItsMethodAndPath) {
  Fixture f;
  f.transport->handle([](const Request&) { return Result<Response>(answer(200, R"({"id":"x"})")); });
  ASSERT_TRUE(f.client.get_control_plane("a/b"));
  EXPECT_EQ(f.last().target, "/v2/control-planes/a%2Fb");
  ASSERT_TRUE(f.client.update_control_plane("id1", {{"description", "d"}}));
  EXPECT_EQ(f.last().method, Method::Patch);
  EXPECT_EQ(f.last().target, "/v2/control-planes/id1");
  EXPECT_EQ(f.last().body, R"({"description":"d"})");
  f.transport->script({answer(204)});
  EXPECT_TRUE(f.client.delete_control_plane("id1"));
  EXPECT_EQ(f.last().method, Method::Delete);
}

TEST(CoreEntities, PathsEncodeEverySegmentAndTheKey) {
  Fixture f;
  f.transport->handle([](const Request&) { return Result<Response>(answer(200, R"({"id":"s"})")); });
  ASSERT_TRUE(f.client.get_entity("cp", {"services"}, "orders api"));
  EXPECT_EQ(f.last().target, "/v2/control-planes/cp/core-entities/services/orders%20api");
  ASSERT_TRUE(f.client.upsert_entity("cp", {"upstreams", "u1", "targets"}, "10.0.0.1:80", {{"weight", 100}}));
  EXPECT_EQ(f.last().method, Method::Put);
  EXPECT_EQ(f.last().target, "/v2/control-planes/cp/core-entities/upstreams/u1/targets/10.0.0.1%3A80");
  ASSERT_TRUE(f.client.create_entity("cp", {"consumers", "jo/e", "key-auth"}, {}));
  EXPECT_EQ(f.last().method, Method::Post);
  EXPECT_EQ(f.last().target, "/v2/control-planes/cp/core-entities/consumers/jo%2Fe/key-auth");
  f.transport->script({answer(204)});
  EXPECT_TRUE(f.client.delete_entity("cp", {"services"}, "orders", {{"force", "true"}}));
  EXPECT_EQ(f.last().target, "/v2/control-planes/cp/core-entities/services/orders?force=true");
}

TEST(CoreEntities, AConflictComesBackAsData) {
  Fixture f;
  f.transport->script(
      {answer(409, problem(409, "Conflict", "Service with name [orders] already exists."),
              {{"Content-Type", "application/problem+json"}, {"X-Kong-Request-Id", "1234567890123456789"}})});
  auto created = f.client.create_entity("cp", {"services"}, {{"name", "orders"}, {"host", "h"}});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(created.error().detail, "Service with name [orders] already exists.");
  EXPECT_EQ(created.error().instance, "kong:trace:1234567890123456789");
}

TEST(AccessTokens, CreateListRevokeDelete) {
  Fixture f;
  f.transport->script({answer(201, R"({"id":"t1","konnect_token":"kpat_x"})"),
                       answer(200, R"({"meta":{"number":1,"size":1,"total":1},"data":[{"id":"t1"}]})"),
                       answer(200, R"({"id":"t1","state":"REVOKED"})"), answer(204)});
  auto token = f.client.create_access_token("u1", {{"name", "ci"}, {"ttl_seconds", 86400}});
  ASSERT_TRUE(token);
  EXPECT_EQ(token->at("konnect_token").as_string(), "kpat_x");
  EXPECT_EQ(f.last().target, "/v3/users/u1/access-tokens");
  auto tokens = f.client.access_tokens("u1");
  ASSERT_TRUE(tokens);
  EXPECT_EQ(tokens->size(), 1u);
  auto revoked = f.client.revoke_access_token("u1", "t1");
  ASSERT_TRUE(revoked);
  EXPECT_EQ(f.last().method, Method::Patch);
  EXPECT_EQ(f.last().target, "/v3/users/u1/access-tokens/t1/revoke");
  EXPECT_TRUE(f.client.delete_access_token("u1", "t1"));
  EXPECT_EQ(f.last().method, Method::Delete);
}

TEST(Answers, ASuccessThatIsNotTheJsonExpectedIsAProtocolError) {
  Fixture f;
  f.transport->script({answer(200, "<html>captive portal</html>"), answer(200, "[1,2]"), answer(200, R"({"x":1})")});
  auto html = f.client.me();
  ASSERT_FALSE(html);
  EXPECT_EQ(html.error().kind, ErrorKind::Transport);
  EXPECT_EQ(html.error().transport, TransportFailure::Protocol);
  EXPECT_EQ(f.client.get_control_plane("x").error().transport, TransportFailure::Protocol);
  EXPECT_EQ(f.client.access_tokens("u").error().transport, TransportFailure::Protocol);
}

TEST(Answers, AnEmptySuccessBodyIsJsonNull) {
  Fixture f;
  f.transport->script({answer(204)});
  auto value = f.client.call(Method::Delete, "/v2/control-planes/x");
  ASSERT_TRUE(value);
  EXPECT_TRUE(value->is_null());
}

TEST(Connect, RejectsUnusableBaseUrlsAndCaFiles) {
  auto ftp = Client::connect({.base_url = "ftp://example.com"});
  ASSERT_FALSE(ftp);
  EXPECT_EQ(ftp.error().kind, ErrorKind::Transport);
  EXPECT_FALSE(Client::connect({.base_url = "not a url"}));
  auto ca = Client::connect({.base_url = "https://example.com", .ca_file = "/nonexistent/ca.pem"});
  ASSERT_FALSE(ca);
  EXPECT_EQ(ca.error().transport, TransportFailure::Tls);
  EXPECT_TRUE(Client::connect({.base_url = "https://example.com:8443/prefix/"}));
}

TEST(HttpTransport, ARefusedConnectionIsATransportFailureRetriedOnlyForIdempotentMethods) {
  // Port 1 on loopback: nothing listens there, so the connect is refused at once.
  std::vector<std::chrono::milliseconds> waits;
  auto client = Client::connect({.base_url = "http://127.0.0.1:1",
                                 .token = "t",
                                 .retry = {.max_attempts = 2},
                                 .sleep = [&waits](std::chrono::milliseconds w) { waits.push_back(w); }});
  ASSERT_TRUE(client);
  auto got = client->get_control_plane("x");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().kind, ErrorKind::Transport);
  EXPECT_EQ(got.error().transport, TransportFailure::Connect);
  EXPECT_EQ(got.error().attempts, 2);
  EXPECT_EQ(waits.size(), 1u);
  auto created = client->create_control_plane({{"name", "x"}});
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().attempts, 1);
}

// A loopback listener the test controls: the kernel completes connections to it (the backlog)
// whether or not the test accepts them.
struct Listener {
  boost::asio::io_context context;
  boost::asio::ip::tcp::acceptor acceptor{context, {boost::asio::ip::make_address("127.0.0.1"), 0}};
  std::string url() const { return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()); }
};

TEST(HttpTransport, AServerThatNeverAnswersIsATimeoutAfterTheRequestsDeadline) {
  Listener listener;
  auto client = Client::connect({.base_url = listener.url(),
                                 .token = "t",
                                 .timeout = std::chrono::milliseconds(300),
                                 .retry = {.max_attempts = 1}});
  ASSERT_TRUE(client);
  const auto started = std::chrono::steady_clock::now();
  auto got = client->me();
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().transport, TransportFailure::Timeout) << got.error().to_string();
  EXPECT_GE(elapsed, std::chrono::milliseconds(290));
  EXPECT_LT(elapsed, std::chrono::milliseconds(3000));
}

TEST(HttpTransport, AnAnswerThatIsNotHttpIsAProtocolFailure) {
  Listener listener;
  std::thread server([&listener] {
    boost::asio::ip::tcp::socket socket(listener.context);
    listener.acceptor.accept(socket);
    boost::asio::streambuf request;
    boost::asio::read_until(socket, request, "\r\n\r\n");
    boost::asio::write(socket, boost::asio::buffer(std::string("SSH-2.0-OpenSSH_9.2\r\n\r\n")));
  });
  auto client = Client::connect({.base_url = listener.url(), .token = "t", .retry = {.max_attempts = 1}});
  ASSERT_TRUE(client);
  auto got = client->me();
  server.join();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().transport, TransportFailure::Protocol) << got.error().to_string();
}

TEST(HttpTransport, SendsTheRequestLineHostAndBodyAndReadsTheAnswer) {
  Listener listener;
  std::string received;
  std::thread server([&listener, &received] {
    boost::asio::ip::tcp::socket socket(listener.context);
    listener.acceptor.accept(socket);
    boost::asio::streambuf request;
    const auto header_bytes = boost::asio::read_until(socket, request, "\r\n\r\n");
    std::string all(boost::asio::buffers_begin(request.data()), boost::asio::buffers_end(request.data()));
    // The body (Content-Length 15) may still be on its way.
    while (all.size() < header_bytes + 15) {
      char byte;
      boost::asio::read(socket, boost::asio::buffer(&byte, 1));
      all += byte;
    }
    received = all;
    boost::asio::write(socket, boost::asio::buffer(std::string(
                                   "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: "
                                   "11\r\nConnection: close\r\n\r\n{\"id\":\"c1\"}")));
  });
  auto client = Client::connect({.base_url = listener.url() + "/prefix/", .token = "kpat_t"});
  ASSERT_TRUE(client);
  auto created = client->create_control_plane({{"name", "prod"}});
  server.join();
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->at("id").as_string(), "c1");
  EXPECT_EQ(received.rfind("POST /prefix/v2/control-planes HTTP/1.1\r\n", 0), 0u) << received;
  EXPECT_NE(received.find("Host: 127.0.0.1:"), std::string::npos) << received;
  EXPECT_NE(received.find("Authorization: Bearer kpat_t\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("\r\n\r\n{\"name\":\"prod\"}"), std::string::npos) << received;
}

}  // namespace
}  // namespace openkonnect::client
