// The client library against a real openkonnect (tests/e2e/test_client_library.py starts the
// servers and sets the environment). Without OPENKONNECT_CLIENT_URL and
// OPENKONNECT_CLIENT_TOKEN every test skips.
//   OPENKONNECT_CLIENT_URL, OPENKONNECT_CLIENT_TOKEN: a server and an organization admin's token.
//   OPENKONNECT_CLIENT_LIMITED_URL, OPENKONNECT_CLIENT_LIMITED_TOKEN: a server with a tiny
//   per-token budget (e.g. --rate-limit-token 3/3), for the 429 test.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "openkonnect/client/client.hpp"

namespace openkonnect::client {
namespace {

namespace bj = boost::json;
using namespace std::chrono_literals;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string unique(const std::string& prefix) {
  static std::mt19937_64 generator{std::random_device{}()};
  return prefix + "-" + std::to_string(generator() % 1000000000);
}

class ClientE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = env("OPENKONNECT_CLIENT_URL");
    token_ = env("OPENKONNECT_CLIENT_TOKEN");
    if (url_.empty() || token_.empty()) GTEST_SKIP() << "OPENKONNECT_CLIENT_URL and OPENKONNECT_CLIENT_TOKEN unset";
  }

  Client connect(std::string token, Options options = {}) const {
    options.base_url = url_;
    options.token = std::move(token);
    options.timeout = 10s;
    auto client = Client::connect(std::move(options));
    if (!client) {
      std::fprintf(stderr, "%s\n", client.error().to_string().c_str());
      std::abort();  // a fixed URL that does not parse: nothing below could run
    }
    return std::move(client).value();
  }

  Client admin() const { return connect(token_); }

  std::string url_;
  std::string token_;
};

TEST_F(ClientE2E, ControlPlaneLifecycle) {
  auto client = admin();
  const auto name = unique("lifecycle");
  auto created = client.create_control_plane({{"name", name}, {"labels", {{"team", "payments"}}}});
  ASSERT_TRUE(created) << created.error().to_string();
  const std::string id(created->at("id").as_string());

  auto got = client.get_control_plane(id);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->at("name").as_string(), name);
  EXPECT_EQ(got->at("labels").at("team").as_string(), "payments");

  auto updated = client.update_control_plane(id, {{"description", "from the C++ client"}});
  ASSERT_TRUE(updated) << updated.error().to_string();
  EXPECT_EQ(updated->at("description").as_string(), "from the C++ client");

  ASSERT_TRUE(client.delete_control_plane(id));
  auto gone = client.get_control_plane(id);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::NotFound);
}

TEST_F(ClientE2E, BadRequestCarriesTheInvalidParameters) {
  auto client = admin();
  auto blank = client.create_control_plane({{"name", ""}, {"cluster_type", "CLUSTER_TYPE_NONSENSE"}});
  ASSERT_FALSE(blank);
  const Error& error = blank.error();
  EXPECT_EQ(error.kind, ErrorKind::BadRequest);
  EXPECT_EQ(error.status, 400);
  EXPECT_EQ(error.title, "Bad Request");
  EXPECT_EQ(error.instance.rfind("kong:trace:", 0), 0u) << error.instance;
  ASSERT_EQ(error.invalid_parameters.size(), 2u) << error.to_string();
  bool saw_name = false;
  bool saw_cluster_type = false;
  for (const auto& parameter : error.invalid_parameters) {
    if (parameter.field == "name") saw_name = !parameter.reason.empty();
    if (parameter.field == "cluster_type") {
      saw_cluster_type = true;
      EXPECT_EQ(parameter.rule, "enum");
      EXPECT_FALSE(parameter.choices.empty());
    }
  }
  EXPECT_TRUE(saw_name) << error.to_string();
  EXPECT_TRUE(saw_cluster_type) << error.to_string();

  // A bad page size is a query problem, with its bound.
  auto items = client.control_planes({}, 0);
  auto first = items.next();
  ASSERT_TRUE(first.has_value());
  ASSERT_FALSE(*first);
  EXPECT_EQ(first->error().kind, ErrorKind::BadRequest);
  ASSERT_EQ(first->error().invalid_parameters.size(), 1u);
  EXPECT_EQ(first->error().invalid_parameters[0].source, "query");
  EXPECT_EQ(first->error().invalid_parameters[0].rule, "min");
  EXPECT_EQ(first->error().invalid_parameters[0].minimum, 1);
}

TEST_F(ClientE2E, UnauthorizedAndTheRefreshHook) {
  auto bad = connect("kpat_" + std::string(49, 'x'));
  auto me = bad.me();
  ASSERT_FALSE(me);
  EXPECT_EQ(me.error().kind, ErrorKind::Unauthorized);
  EXPECT_EQ(me.error().detail, "Invalid credentials.");

  int refreshes = 0;
  auto refreshed = connect("kpat_" + std::string(49, 'y'),
                           Options{.on_unauthorized = [&](const Error&) -> std::optional<std::string> {
                             ++refreshes;
                             return token_;
                           }});
  auto again = refreshed.me();
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_EQ(refreshes, 1);
  EXPECT_EQ(refreshed.token(), token_);
}

TEST_F(ClientE2E, ForbiddenForAUserWithoutTheRoleAndRevokedTokensAreUnauthorized) {
  auto client = admin();
  const auto email = unique("member") + "@example.com";
  const bj::value invite = bj::object{{"email", email}};
  auto invited = client.call(Method::Post, "/v3/invites", &invite);
  ASSERT_TRUE(invited) << invited.error().to_string();
  auto found = client.users({{"filter[email][eq]", email}}).all();
  ASSERT_TRUE(found) << found.error().to_string();
  ASSERT_EQ(found->size(), 1u);
  const std::string user_id(found->at(0).at("id").as_string());

  auto pat = client.create_access_token(user_id, {{"name", "e2e"}, {"ttl_seconds", 86400}});
  ASSERT_TRUE(pat) << pat.error().to_string();
  const std::string member_token(pat->at("konnect_token").as_string());
  const std::string token_id(pat->at("id").as_string());

  auto member = connect(member_token);
  auto me = member.me();
  ASSERT_TRUE(me) << me.error().to_string();
  EXPECT_EQ(me->at("id").as_string(), user_id);
  auto denied = member.create_control_plane({{"name", unique("denied")}});
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind, ErrorKind::Forbidden);
  EXPECT_NE(denied.error().detail.find("Creator"), std::string::npos) << denied.error().detail;

  auto tokens = client.access_tokens(user_id);
  ASSERT_TRUE(tokens) << tokens.error().to_string();
  EXPECT_EQ(tokens->size(), 1u);
  auto revoked = client.revoke_access_token(user_id, token_id);
  ASSERT_TRUE(revoked) << revoked.error().to_string();
  auto after = member.me();
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().kind, ErrorKind::Unauthorized);
  ASSERT_TRUE(client.delete_access_token(user_id, token_id));
  EXPECT_EQ(client.delete_access_token(user_id, token_id).error().kind, ErrorKind::NotFound);
}

TEST_F(ClientE2E, NotFoundAndConflict) {
  auto client = admin();
  auto missing = client.get_control_plane("4b5a9a6e-2f0c-4b8e-9a51-0d6f3c1e2a77");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(missing.error().status, 404);

  const auto name = unique("taken");
  ASSERT_TRUE(client.create_control_plane({{"name", name}}));
  auto duplicate = client.create_control_plane({{"name", name}});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().kind, ErrorKind::Conflict);
  EXPECT_EQ(duplicate.error().detail, "Control plane with name [" + name + "] already exists.");
  EXPECT_EQ(duplicate.error().attempts, 1);
}

TEST_F(ClientE2E, IteratesTwoHundredFiftyControlPlanesAcrossPages) {
  auto client = admin();
  const auto prefix = unique("many");
  for (int i = 0; i < 250; ++i) {
    auto created = client.create_control_plane({{"name", prefix + "-" + std::to_string(i)}});
    ASSERT_TRUE(created) << created.error().to_string();
  }
  const Query mine{{"filter[name][contains]", prefix}};
  auto by_hundred = client.control_planes(mine, 100);
  std::set<std::string> names;
  for (const auto& item : by_hundred) {
    ASSERT_TRUE(item) << item.error().to_string();
    names.emplace(item->at("name").as_string());
  }
  EXPECT_EQ(names.size(), 250u);
  EXPECT_EQ(by_hundred.pages_fetched(), 3);

  // 250 = 5 x 50: the walk ends with the fifth page, without asking for a sixth.
  auto by_fifty = client.control_planes(mine, 50);
  auto all = by_fifty.all();
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(all->size(), 250u);
  EXPECT_EQ(by_fifty.pages_fetched(), 5);

  auto none = client.control_planes({{"filter[name][eq]", unique("nothing")}});
  EXPECT_FALSE(none.next().has_value());
  EXPECT_EQ(none.pages_fetched(), 1);
}

TEST_F(ClientE2E, CoreEntitiesCreateUpsertGetIterateDelete) {
  auto client = admin();
  auto cp = client.create_control_plane({{"name", unique("entities")}});
  ASSERT_TRUE(cp) << cp.error().to_string();
  const std::string cp_id(cp->at("id").as_string());

  for (int i = 0; i < 6; ++i) {
    auto service = client.create_entity(cp_id, {"services"},
                                        {{"name", "svc-" + std::to_string(i)}, {"url", "http://orders.internal:8080"}});
    ASSERT_TRUE(service) << service.error().to_string();
  }
  // PUT by endpoint key creates the seventh; a second PUT replaces it.
  auto upserted = client.upsert_entity(cp_id, {"services"}, "svc-six", {{"host", "a.internal"}});
  ASSERT_TRUE(upserted) << upserted.error().to_string();
  auto replaced = client.upsert_entity(cp_id, {"services"}, "svc-six", {{"host", "b.internal"}});
  ASSERT_TRUE(replaced) << replaced.error().to_string();
  EXPECT_EQ(replaced->at("host").as_string(), "b.internal");
  auto by_name = client.get_entity(cp_id, {"services"}, "svc-six");
  ASSERT_TRUE(by_name) << by_name.error().to_string();
  EXPECT_EQ(by_name->at("id"), replaced->at("id"));

  auto route = client.create_entity(cp_id, {"services", "svc-six", "routes"}, {{"name", "r1"}, {"paths", {"/six"}}});
  ASSERT_TRUE(route) << route.error().to_string();

  // A target's key has a colon: the path segment is percent-encoded and still found.
  ASSERT_TRUE(client.upsert_entity(cp_id, {"upstreams"}, "orders-upstream", {}));
  auto target =
      client.upsert_entity(cp_id, {"upstreams", "orders-upstream", "targets"}, "10.0.0.1:8000", {{"weight", 50}});
  ASSERT_TRUE(target) << target.error().to_string();
  auto same_target = client.get_entity(cp_id, {"upstreams", "orders-upstream", "targets"}, "10.0.0.1:8000");
  ASSERT_TRUE(same_target) << same_target.error().to_string();
  EXPECT_EQ(same_target->at("weight").as_int64(), 50);

  auto duplicate = client.create_entity(cp_id, {"services"}, {{"name", "svc-0"}, {"host", "h.internal"}});
  ASSERT_FALSE(duplicate);
  EXPECT_EQ(duplicate.error().kind, ErrorKind::Conflict);
  auto invalid = client.create_entity(cp_id, {"services"}, {{"name", "bad"}, {"host", "h.internal"}, {"port", 70000}});
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error().kind, ErrorKind::BadRequest);
  ASSERT_FALSE(invalid.error().invalid_parameters.empty());
  EXPECT_EQ(invalid.error().invalid_parameters[0].field, "port");
  EXPECT_EQ(invalid.error().invalid_parameters[0].rule, "max");
  EXPECT_EQ(invalid.error().invalid_parameters[0].maximum, 65535);

  // Seven services, three a page: 3 + 3 + 1, following the offset.
  auto services = client.entities(cp_id, {"services"}, {}, 3);
  std::set<std::string> names;
  for (const auto& item : services) {
    ASSERT_TRUE(item) << item.error().to_string();
    names.emplace(item->at("name").as_string());
  }
  EXPECT_EQ(names.size(), 7u);
  EXPECT_TRUE(names.count("svc-six"));
  EXPECT_EQ(services.pages_fetched(), 3);

  auto routes = client.entities(cp_id, {"services", "svc-six", "routes"}).all();
  ASSERT_TRUE(routes) << routes.error().to_string();
  EXPECT_EQ(routes->size(), 1u);

  auto in_use = client.delete_entity(cp_id, {"services"}, "svc-six");
  ASSERT_FALSE(in_use);
  EXPECT_EQ(in_use.error().kind, ErrorKind::Conflict);
  ASSERT_TRUE(client.delete_entity(cp_id, {"services"}, "svc-six", {{"force", "true"}}));
  EXPECT_EQ(client.get_entity(cp_id, {"services"}, "svc-six").error().kind, ErrorKind::NotFound);
  EXPECT_EQ(client.entities(cp_id, {"routes"}).all()->size(), 0u);
}

TEST_F(ClientE2E, IdentityMeAndUsers) {
  auto client = admin();
  auto me = client.me();
  ASSERT_TRUE(me) << me.error().to_string();
  auto users = client.users().all();
  ASSERT_TRUE(users) << users.error().to_string();
  bool found = false;
  for (const auto& user : *users) found = found || user.at("id") == me->at("id");
  EXPECT_TRUE(found);
}

TEST_F(ClientE2E, OneClientServesManyThreads) {
  auto client = admin();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&client, &failures] {
      for (int i = 0; i < 25; ++i) {
        if (!client.me()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(ClientE2E, AKeepAliveConnectionTheServerClosedIsReplacedEvenForAPost) {
  // The server runs with --idle-timeout-ms 300: after a second idle, the pooled connection is
  // closed on the server's side, and the POST must go out on a new one (exactly once).
  auto client = admin();
  ASSERT_TRUE(client.me());
  std::this_thread::sleep_for(1s);
  const auto name = unique("after-idle");
  auto created = client.create_control_plane({{"name", name}});
  ASSERT_TRUE(created) << created.error().to_string();
  auto listed = client.control_planes({{"filter[name][eq]", name}}).all();
  ASSERT_TRUE(listed) << listed.error().to_string();
  EXPECT_EQ(listed->size(), 1u);
}

// HTTPS: OPENKONNECT_CLIENT_TLS_URL (https://127.0.0.1:PORT), OPENKONNECT_CLIENT_TLS_CA (the
// server's self-signed certificate, for 127.0.0.1 and localhost), OPENKONNECT_CLIENT_TLS_TOKEN.
class ClientE2ETls : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = env("OPENKONNECT_CLIENT_TLS_URL");
    ca_ = env("OPENKONNECT_CLIENT_TLS_CA");
    token_ = env("OPENKONNECT_CLIENT_TLS_TOKEN");
    if (url_.empty() || ca_.empty() || token_.empty()) GTEST_SKIP() << "OPENKONNECT_CLIENT_TLS_* unset";
  }
  std::string url_;
  std::string ca_;
  std::string token_;
};

TEST_F(ClientE2ETls, VerifiesTheServerAndReusesOneConnection) {
  auto client = Client::connect({.base_url = url_, .token = token_, .ca_file = ca_});
  ASSERT_TRUE(client) << client.error().to_string();
  for (int i = 0; i < 10; ++i) {
    auto me = client->me();
    ASSERT_TRUE(me) << me.error().to_string();
  }
  // The server counts open connections: this client's ten requests used one.
  auto metrics = client->send(Method::Get, "/metrics");
  ASSERT_TRUE(metrics) << metrics.error().to_string();
  EXPECT_NE(metrics->body.find("\nopenkonnect_open_connections 1\n"), std::string::npos)
      << metrics->body.substr(0, 2000);

  // By host name (SNI and the certificate's DNS name).
  const std::string by_name = "https://localhost" + url_.substr(url_.rfind(':'));
  auto named = Client::connect({.base_url = by_name, .token = token_, .ca_file = ca_});
  ASSERT_TRUE(named);
  auto me = named->me();
  EXPECT_TRUE(me) << me.error().to_string();
}

TEST_F(ClientE2ETls, AnUntrustedCertificateIsATlsFailureUnlessVerificationIsOff) {
  auto strict = Client::connect({.base_url = url_, .token = token_, .retry = {.max_attempts = 1}});
  ASSERT_TRUE(strict);
  auto refused = strict->me();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::Transport);
  EXPECT_EQ(refused.error().transport, TransportFailure::Tls) << refused.error().to_string();

  auto lax = Client::connect({.base_url = url_, .token = token_, .verify_peer = false});
  ASSERT_TRUE(lax);
  auto me = lax->me();
  EXPECT_TRUE(me) << me.error().to_string();
}

TEST(ClientE2ERateLimited, TooManyRequestsIsWaitedOutAsTheServerSays) {
  const std::string url = env("OPENKONNECT_CLIENT_LIMITED_URL");
  const std::string token = env("OPENKONNECT_CLIENT_LIMITED_TOKEN");
  if (url.empty() || token.empty()) GTEST_SKIP() << "OPENKONNECT_CLIENT_LIMITED_URL/_TOKEN unset";

  // Without retries the 429 comes back as data.
  auto impatient = Client::connect({.base_url = url, .token = token, .retry = {.max_attempts = 1}});
  ASSERT_TRUE(impatient);
  std::optional<Error> limited;
  for (int i = 0; i < 10 && !limited; ++i) {
    auto me = impatient->me();
    if (!me) limited = me.error();
  }
  ASSERT_TRUE(limited.has_value()) << "the budget never ran out";
  EXPECT_EQ(limited->kind, ErrorKind::TooManyRequests);
  ASSERT_TRUE(limited->retry_after.has_value());
  EXPECT_GE(*limited->retry_after, 1);

  // With retries every request succeeds, after sleeping what Retry-After said.
  std::vector<std::chrono::milliseconds> waits;
  auto patient = Client::connect({.base_url = url,
                                  .token = token,
                                  .retry = {.max_attempts = 5, .max_total_wait = 10s},
                                  .sleep = [&waits](std::chrono::milliseconds wait) {
                                    waits.push_back(wait);
                                    std::this_thread::sleep_for(wait);
                                  }});
  ASSERT_TRUE(patient);
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) {
    auto me = patient->me();
    ASSERT_TRUE(me) << me.error().to_string();
  }
  const auto elapsed = std::chrono::steady_clock::now() - started;
  ASSERT_FALSE(waits.empty());
  std::chrono::milliseconds slept{0};
  for (const auto wait : waits) {
    EXPECT_EQ(wait.count() % 1000, 0) << "a Retry-After wait is whole seconds";
    EXPECT_GE(wait, 1s);
    slept += wait;
  }
  EXPECT_GE(elapsed, slept);
  EXPECT_LT(elapsed, 15s);
}

}  // namespace
}  // namespace openkonnect::client
