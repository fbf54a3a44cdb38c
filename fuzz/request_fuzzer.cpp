// libFuzzer target: the whole in-process request path, bytes in -> responses out, no sockets.
//
// Input: one mode byte, then raw bytes read as one or more HTTP/1.1 requests on one
// connection. http::parse_request applies the server's limits and framing rules (the
// server uses the same helpers, http/beast_parse.hpp); each complete request goes through
// api::App::handle (target parsing, router, authentication, rate limits, handlers,
// validation) against a temporary SQLite store; a parse failure goes through
// App::transport_error and ends the connection, as in the server.
//
// Mode byte % 3: 0 removes every Authorization header; 1 replaces them with a valid admin
// token; 2 keeps the input's own. In the parsed target and body, $ORG, $USER, $TOKEN_ID,
// $CP, $GROUP, $TEAM and $SA become the ids of the organization's fixtures, so the seeds
// can reach handlers past the 404s, and $EXPIRES a time 30 days ahead (RFC 3339).
//
// Invariants (abort on violation): every status is 1xx-5xx and never 500; every non-2xx
// answer is application/problem+json whose body is a JSON object with integer `status`
// equal to the HTTP status; a 400 lists at least one invalid parameter; a 2xx JSON body
// parses; a transport failure answers 400, 413 or 431.
//
// OPENKONNECT_FUZZ_VERBOSE=1 prints each request's method, target and status to stderr
// (to see what a seed reaches: `OPENKONNECT_FUZZ_VERBOSE=1 request_fuzzer -runs=0 DIR`).

#include "fuzz_env.hpp"

#include "api/build.hpp"
#include "auth/authenticator.hpp"
#include "auth/token.hpp"
#include "errors/problem.hpp"
#include "http/parse.hpp"
#include "http/server.hpp"
#include "ratelimit/gcra_limiter.hpp"
#include "util/ids.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace ok;
namespace bj = boost::json;

struct Fixture {
  std::string token;
  std::vector<std::pair<std::string, std::string>> vars;  // $NAME -> id
};

struct Env {
  std::unique_ptr<store::Store> store;
  auth::Generations generations;
  std::unique_ptr<auth::Authenticator> authenticator;
  ratelimit::GcraLimiter limiter;
  std::unique_ptr<api::App> app;
  http::ParseLimits limits;
  Fixture fixture;
  std::uint64_t trace = 0;
  bool verbose = false;
};

// The server's defaults (http/server.hpp), so the fuzzer sees the limits a client does.
http::ParseLimits server_limits() {
  const http::ServerOptions defaults;
  return {defaults.max_header_bytes, defaults.max_body_bytes};
}

std::string create(Env& env, const std::string& token, const std::string& path, const std::string& body) {
  http::Request r;
  r.method = "POST";
  r.target = path;
  r.headers = {{"host", "fuzz"}, {"authorization", "Bearer " + token}, {"content-type", "application/json"}};
  r.body = body;
  r.trace_id = ++env.trace;
  r.remote_address = "127.0.0.1";
  auto response = env.app->handle(r);
  if (response.status != 201) ok::fuzz::violation("fixture creation failed", path + " " + body + " -> " + response.body);
  return std::string(bj::parse(response.body).at("id").as_string());
}

// A new organization with a control plane, a control-plane group, a team and a system
// account, all created through the API.
Fixture make_fixture(Env& env) {
  auto org = ok::fuzz::make_organization(*env.store);
  Fixture f;
  f.token = org.token;
  const auto token_id = env.store->find_token_by_hash(auth::hash_token(org.token))->token.id;
  const auto n = std::to_string(env.trace);
  const auto cp = create(env, org.token, "/v2/control-planes", R"({"name":"fuzz-cp-)" + n + R"("})");
  const auto group = create(env, org.token, "/v2/control-planes",
                            R"({"name":"fuzz-group-)" + n + R"(","cluster_type":"CLUSTER_TYPE_CONTROL_PLANE_GROUP"})");
  const auto team = create(env, org.token, "/v3/teams", R"({"name":"fuzz-team-)" + n + R"("})");
  const auto sa = create(env, org.token, "/v3/system-accounts",
                         R"({"name":"fuzz-sa-)" + n + R"(","description":"fuzz"})");
  f.vars = {{"$TOKEN_ID", token_id}, {"$GROUP", group}, {"$TEAM", team}, {"$USER", org.user_id},
            {"$ORG", org.organization_id}, {"$CP", cp}, {"$SA", sa},
            {"$EXPIRES", util::format_rfc3339_ms(util::now_ms() + 30LL * 86400 * 1000)}};
  return f;
}

Env& env() {
  static Env* e = [] {
    auto* created = new Env;  // never destroyed: it lives as long as the process
    created->store = ok::fuzz::make_temp_store();
    created->authenticator = std::make_unique<auth::Authenticator>(*created->store, created->generations);
    api::Settings settings;
    settings.max_body_bytes = server_limits().max_body_bytes;
    settings.cluster_url = "http://127.0.0.1:8005";
    settings.telemetry_url = "http://127.0.0.1:8006";
    // Budgets large enough never to refuse, so the fuzzer explores handlers; the rate-limit
    // code still runs and writes its headers.
    for (auto* policy : {&settings.rate_limits.token, &settings.rate_limits.organization,
                         &settings.rate_limits.auth_failures, &settings.rate_limits.invites}) {
      policy->quota = 1'000'000'000;
      policy->window = std::chrono::seconds(60);
    }
    created->app = api::build_app(*created->store, *created->authenticator, created->generations, created->limiter,
                                  settings);
    created->limits = server_limits();
    const char* verbose = std::getenv("OPENKONNECT_FUZZ_VERBOSE");
    created->verbose = verbose && std::string_view(verbose) == "1";
    created->fixture = make_fixture(*created);
    return created;
  }();
  return *e;
}

void check(const http::Response& r, std::string_view context) {
  auto fail = [&](std::string_view what) {
    ok::fuzz::violation(what, fmt::format("{}: status {} content-type [{}] body {}", context, r.status, r.content_type,
                                          r.body));
  };
  if (r.status < 100 || r.status > 599) fail("status outside 1xx-5xx");
  if (r.status == 500) fail("500 Internal Server Error");
  if (r.status >= 200 && r.status < 300) {
    if (r.content_type == "application/json" && !r.body.empty()) {
      boost::system::error_code ec;
      (void)bj::parse(r.body, ec);
      if (ec) fail("2xx application/json body does not parse");
    }
    return;
  }
  if (r.content_type != errors::kProblemContentType) fail("non-2xx answer is not application/problem+json");
  boost::system::error_code ec;
  const bj::value body = bj::parse(r.body, ec);
  if (ec || !body.is_object()) fail("problem body is not a JSON object");
  const auto* status = body.as_object().if_contains("status");
  if (!status || !status->is_int64() || status->as_int64() != static_cast<std::int64_t>(r.status)) {
    fail("problem `status` is not the HTTP status");
  }
  if (r.status == 400) {
    const auto* params = body.as_object().if_contains("invalid_parameters");
    if (!params || !params->is_array() || params->as_array().empty()) fail("400 without invalid_parameters");
  }
}

void set_authorization(http::Request& request, unsigned mode, const std::string& token) {
  if (mode == 2) return;
  std::erase_if(request.headers, [](const auto& h) { return h.first == "authorization"; });
  if (mode == 1) request.headers.emplace_back("authorization", "Bearer " + token);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Env& e = env();
  const unsigned mode = data[0] % 3;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  // One connection: requests are answered in order until one closes it.
  for (int count = 0; !rest.empty() && count < 32; ++count) {
    auto parsed = http::parse_request(rest, e.limits);
    if (parsed.consumed > rest.size()) ok::fuzz::violation("parser consumed more than it was given");
    if (parsed.status == http::ParsedRequest::Status::incomplete) break;
    http::Request request = std::move(parsed.request);
    request.trace_id = ++e.trace;
    request.remote_address = "127.0.0.1";
    if (parsed.status == http::ParsedRequest::Status::failed) {
      const auto response = e.app->transport_error(*parsed.error, request);
      if (e.verbose) std::fprintf(stderr, "transport error -> %u %s\n", response.status, response.body.c_str());
      check(response, "transport error");
      if (response.status != 400 && response.status != 413 && response.status != 431) {
        ok::fuzz::violation("transport error is not 400/413/431", std::to_string(response.status));
      }
      if (!response.close_connection) ok::fuzz::violation("transport error keeps the connection open");
      break;
    }
    if (parsed.consumed == 0) ok::fuzz::violation("a complete request consumed no bytes");
    set_authorization(request, mode, e.fixture.token);
    ok::fuzz::substitute(request.target, e.fixture.vars);
    ok::fuzz::substitute(request.body, e.fixture.vars);
    const auto response = e.app->handle(request);
    if (e.verbose) {
      std::fprintf(stderr, "%s %s -> %u%s%s\n", request.method.c_str(), request.target.c_str(), response.status,
                   response.status >= 300 ? " " : "", response.status >= 300 ? response.body.c_str() : "");
    }
    check(response, request.method + " " + request.target);
    if (!parsed.keep_alive || response.close_connection) break;
    rest.remove_prefix(parsed.consumed);
  }

  // The input may have revoked the fixture's token (or its user): start over in a new
  // organization, so later inputs are still authenticated. Deleted fixtures are not
  // recreated; their ids then answer 404.
  try {
    e.authenticator->authenticate("Bearer " + e.fixture.token, util::now_ms());
  } catch (const errors::ApiError&) {
    e.fixture = make_fixture(e);
  }
  return 0;
}
