// The Client's retries: when it resends (only where that cannot do a request twice), how long
// it waits (as told by Retry-After, else backoff with jitter), and where it stops.
#include <algorithm>

#include <gtest/gtest.h>

#include "fake_transport.hpp"

namespace openkonnect::client {
namespace {

using namespace std::chrono_literals;
using testing::answer;
using testing::FakeTransport;
using testing::problem;
using testing::RecordedSleeps;

struct Fixture {
  std::shared_ptr<FakeTransport> transport = std::make_shared<FakeTransport>();
  RecordedSleeps sleeps;
  Client client;

  explicit Fixture(RetryPolicy policy = {}, std::function<std::optional<std::string>(const Error&)> hook = {})
      : client(
            Options{
                .token = "kpat_first", .retry = policy, .on_unauthorized = std::move(hook), .sleep = sleeps.recorder()},
            transport) {}
};

Response limited(int seconds) {
  return answer(429, problem(429, "Too Many Requests", "Too many requests."),
                {{"Retry-After", std::to_string(seconds)}});
}

Response unavailable(std::optional<int> retry_after = std::nullopt) {
  Headers headers;
  if (retry_after) headers.emplace_back("Retry-After", std::to_string(*retry_after));
  return answer(503, problem(503, "Service Unavailable", "The database is unavailable."), std::move(headers));
}

const boost::json::value kBody = boost::json::object{{"name", "prod"}};

TEST(Retries, TooManyRequestsWaitsTheRetryAfterSecondsThenSucceeds) {
  Fixture f;
  f.transport->script({limited(3), answer(200, R"({"id":"x"})")});
  auto result = f.client.call(Method::Get, "/v3/users/me");
  ASSERT_TRUE(result) << result.error().to_string();
  EXPECT_EQ(f.transport->requests.size(), 2u);
  EXPECT_EQ(f.sleeps.waits, std::vector<std::chrono::milliseconds>{3000ms});
}

TEST(Retries, PostIsRetriedOnTooManyRequestsBecauseItWasNotProcessed) {
  Fixture f;
  f.transport->script({limited(1), limited(2), answer(201, R"({"id":"cp"})")});
  auto created = f.client.create_control_plane(kBody.as_object());
  ASSERT_TRUE(created) << created.error().to_string();
  EXPECT_EQ(created->at("id").as_string(), "cp");
  ASSERT_EQ(f.transport->requests.size(), 3u);
  for (const auto& request : f.transport->requests) EXPECT_EQ(request.body, R"({"name":"prod"})");
  EXPECT_EQ(f.sleeps.waits, (std::vector<std::chrono::milliseconds>{1000ms, 2000ms}));
}

TEST(Retries, PostIsNotRetriedOnServiceUnavailableEvenWithRetryAfter) {
  Fixture f;
  f.transport->script({unavailable(1), answer(201, "{}")});
  auto created = f.client.create_control_plane(kBody.as_object());
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, ErrorKind::Unavailable);
  EXPECT_EQ(created.error().retry_after, 1);
  EXPECT_EQ(created.error().instance, "kong:trace:1234567890123456789");
  EXPECT_EQ(created.error().attempts, 1);
  EXPECT_EQ(f.transport->requests.size(), 1u);
  EXPECT_TRUE(f.sleeps.waits.empty());
}

TEST(Retries, PostAndPatchAreNotRetriedAfterATransportFailure) {
  Fixture f;
  f.transport->script({transport_error(TransportFailure::Timeout, "timed out"), answer(201, "{}")});
  auto created = f.client.create_control_plane(kBody.as_object());
  ASSERT_FALSE(created);
  EXPECT_EQ(created.error().kind, ErrorKind::Transport);
  EXPECT_EQ(created.error().transport, TransportFailure::Timeout);
  EXPECT_EQ(f.transport->requests.size(), 1u);

  Fixture g;
  g.transport->script({transport_error(TransportFailure::Connect, "reset"), answer(200, "{}")});
  EXPECT_FALSE(g.client.update_control_plane("id", kBody.as_object()));
  EXPECT_EQ(g.transport->requests.size(), 1u);
}

TEST(Retries, IdempotentMethodsAreRetriedOnGatewayStatusesAndTransportFailures) {
  Fixture f;
  f.transport->script(
      {answer(502, "<html>bad gateway</html>"), unavailable(), answer(504), answer(200, R"({"id":"x"})")});
  auto cp = f.client.get_control_plane("x");
  ASSERT_TRUE(cp) << cp.error().to_string();
  EXPECT_EQ(f.transport->requests.size(), 4u);
  EXPECT_EQ(f.sleeps.waits.size(), 3u);

  Fixture put;
  put.transport->script({transport_error(TransportFailure::Connect, "refused"), answer(200, R"({"id":"s"})")});
  EXPECT_TRUE(put.client.upsert_entity("cp", {"services"}, "orders", {{"host", "orders.internal"}}));
  EXPECT_EQ(put.transport->requests.size(), 2u);

  Fixture del;
  del.transport->script({unavailable(2), answer(204)});
  EXPECT_TRUE(del.client.delete_control_plane("x"));
  EXPECT_EQ(del.sleeps.waits, std::vector<std::chrono::milliseconds>{2000ms});  // the 503's Retry-After
}

TEST(Retries, OtherErrorsAreReturnedAtOnce) {
  for (int status : {400, 403, 404, 409, 500}) {
    Fixture f;
    f.transport->script({answer(status, problem(status, "T", "D")), answer(200, "{}")});
    auto result = f.client.get_control_plane("x");
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().status, status);
    EXPECT_EQ(f.transport->requests.size(), 1u) << status;
  }
}

TEST(Retries, AttemptsAreCapped) {
  Fixture f(RetryPolicy{.max_attempts = 3});
  f.transport->handle([](const Request&) { return Result<Response>(limited(1)); });
  auto result = f.client.get_control_plane("x");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::TooManyRequests);
  EXPECT_EQ(result.error().attempts, 3);
  EXPECT_EQ(result.error().retry_after, 1);
  EXPECT_EQ(f.transport->requests.size(), 3u);
  EXPECT_EQ(f.sleeps.waits.size(), 2u);
}

TEST(Retries, AWaitBeyondTheTotalBudgetIsNotSleptButReturned) {
  Fixture f(RetryPolicy{.max_attempts = 10, .max_total_wait = 5s});
  f.transport->script({limited(2), limited(2), limited(2), answer(200, "{}")});
  auto result = f.client.get_control_plane("x");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().retry_after, 2);  // the caller still learns when to come back
  EXPECT_EQ(result.error().attempts, 3);
  EXPECT_EQ(f.sleeps.waits, (std::vector<std::chrono::milliseconds>{2000ms, 2000ms}));  // 4 s; 6 s would exceed 5

  Fixture g(RetryPolicy{.max_total_wait = 10s});
  g.transport->script({limited(3600), answer(200, "{}")});
  EXPECT_FALSE(g.client.get_control_plane("x"));
  EXPECT_TRUE(g.sleeps.waits.empty());
}

TEST(Retries, BackoffDoublesWithinJitterBoundsAndIsCapped) {
  const RetryPolicy policy{.max_attempts = 7, .base_delay = 100ms, .max_delay = 1000ms, .max_total_wait = 1h};
  // Many runs with the real random source: each wait n lies in [d/2, d], d = min(1000, 100 * 2^n).
  std::vector<std::chrono::milliseconds> lowest(6, 1h), highest(6, 0ms);
  for (int run = 0; run < 200; ++run) {
    Fixture f(policy);
    f.transport->handle([](const Request&) { return Result<Response>(answer(503)); });
    ASSERT_FALSE(f.client.get_control_plane("x"));
    ASSERT_EQ(f.sleeps.waits.size(), 6u);
    for (std::size_t n = 0; n < 6; ++n) {
      lowest[n] = std::min(lowest[n], f.sleeps.waits[n]);
      highest[n] = std::max(highest[n], f.sleeps.waits[n]);
    }
  }
  const long long ceilings[] = {100, 200, 400, 800, 1000, 1000};
  for (std::size_t n = 0; n < 6; ++n) {
    EXPECT_GE(lowest[n].count(), ceilings[n] / 2) << n;
    EXPECT_LE(highest[n].count(), ceilings[n]) << n;
    EXPECT_LT(lowest[n], highest[n]) << "no jitter at " << n;
  }
}

TEST(Retries, TheInjectedRandomSourceDrivesTheJitter) {
  for (double r : {0.0, 0.5, 0.999999}) {
    auto transport = std::make_shared<FakeTransport>();
    RecordedSleeps sleeps;
    Client client(
        Options{
            .retry = {.max_attempts = 2, .base_delay = 400ms}, .sleep = sleeps.recorder(), .random = [r] { return r; }},
        transport);
    transport->handle([](const Request&) { return Result<Response>(answer(504)); });
    EXPECT_FALSE(client.get_control_plane("x"));
    ASSERT_EQ(sleeps.waits.size(), 1u);
    EXPECT_EQ(sleeps.waits[0].count(), static_cast<long long>(200 + r * 200));
  }
}

TEST(Retries, MaxAttemptsOneTurnsRetriesOff) {
  Fixture f(RetryPolicy{.max_attempts = 1});
  f.transport->script({limited(1), answer(200, "{}")});
  EXPECT_FALSE(f.client.get_control_plane("x"));
  EXPECT_EQ(f.transport->requests.size(), 1u);
}

TEST(UnauthorizedHook, ANewTokenIsUsedForTheRetryAndKept) {
  int calls = 0;
  Fixture f({}, [&calls](const Error& error) -> std::optional<std::string> {
    ++calls;
    EXPECT_EQ(error.kind, ErrorKind::Unauthorized);
    return "kpat_second";
  });
  f.transport->script(
      {answer(401, problem(401, "Unauthorized", "Invalid credentials.")), answer(200, "{}"), answer(200, "{}")});
  ASSERT_TRUE(f.client.me());
  EXPECT_EQ(calls, 1);
  ASSERT_EQ(f.transport->requests.size(), 2u);
  EXPECT_EQ(find_header(f.transport->requests[0].headers, "authorization"), "Bearer kpat_first");
  EXPECT_EQ(find_header(f.transport->requests[1].headers, "Authorization"), "Bearer kpat_second");
  EXPECT_EQ(f.client.token(), "kpat_second");
  ASSERT_TRUE(f.client.me());
  EXPECT_EQ(find_header(f.transport->requests[2].headers, "Authorization"), "Bearer kpat_second");
}

TEST(UnauthorizedHook, IsCalledOncePerRequestEvenIfTheNewTokenFailsToo) {
  int calls = 0;
  Fixture f({}, [&calls](const Error&) -> std::optional<std::string> { return "kpat_" + std::to_string(++calls); });
  f.transport->handle([](const Request&) {
    return Result<Response>(answer(401, problem(401, "Unauthorized", "Invalid credentials.")));
  });
  auto result = f.client.me();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::Unauthorized);
  EXPECT_EQ(result.error().detail, "Invalid credentials.");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(f.transport->requests.size(), 2u);
}

TEST(UnauthorizedHook, NoTokenFromTheHookOrNoHookReturnsTheError) {
  Fixture declined({}, [](const Error&) -> std::optional<std::string> { return std::nullopt; });
  declined.transport->script({answer(401, problem(401, "Unauthorized", "A valid token is required."))});
  auto result = declined.client.me();
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().detail, "A valid token is required.");
  EXPECT_EQ(declined.transport->requests.size(), 1u);

  Fixture none;
  none.transport->script({answer(401, "")});
  EXPECT_EQ(none.client.me().error().kind, ErrorKind::Unauthorized);
  EXPECT_EQ(none.transport->requests.size(), 1u);
}

}  // namespace
}  // namespace openkonnect::client
