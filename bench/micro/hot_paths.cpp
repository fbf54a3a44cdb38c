// Micro-benchmarks of the request hot paths. Build with -DOPENKONNECT_BENCHMARKS=ON and run
// build/micro_benchmarks (see docs/BENCHMARKS.md). Each benchmark exercises the real code
// with realistic inputs; the database-backed ones use a temporary SQLite file.

#include "api/config/registry.hpp"
#include "api/control_planes/control_plane.hpp"
#include "api/generation_cache.hpp"
#include "api/identity/organizations.hpp"
#include "api/list_query.hpp"
#include "auth/authenticator.hpp"
#include "auth/generations.hpp"
#include "auth/permissions.hpp"
#include "auth/token.hpp"
#include "errors/problem.hpp"
#include "http/router.hpp"
#include "json/parse.hpp"
#include "ratelimit/gcra_limiter.hpp"
#include "schema/entity_validator.hpp"
#include "schema/validator.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include <filesystem>
#include <thread>

namespace {

using ok::http::Router;

Router<int> make_router() {
  Router<int> r;
  const char* templates[] = {"/healthz",
                             "/metrics",
                             "/v3/users/me",
                             "/v3/users",
                             "/v3/users/{userId}",
                             "/v3/users/{userId}/teams",
                             "/v3/users/{userId}/access-tokens",
                             "/v3/users/{userId}/access-tokens/{tokenId}",
                             "/v3/teams",
                             "/v3/teams/{teamId}",
                             "/v3/teams/{teamId}/users",
                             "/v3/system-accounts",
                             "/v3/system-accounts/{accountId}",
                             "/v2/control-planes",
                             "/v2/control-planes/{controlPlaneId}",
                             "/v2/control-planes/{controlPlaneId}/group-memberships"};
  int i = 0;
  for (const char* t : templates) {
    r.add("GET", t, i++);
    r.add("DELETE", t, i++);
  }
  return r;
}

void BM_RouteMatch(benchmark::State& state) {
  const auto router = make_router();
  const std::string path = "/v2/control-planes/7f9fd312-a987-4628-b4c5-bb4f4fddd5f7";
  for (auto _ : state) {
    auto m = router.match("GET", path);
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_RouteMatch);

void BM_RouteMiss(benchmark::State& state) {
  const auto router = make_router();
  for (auto _ : state) {
    auto m = router.match("GET", "/v2/nope/at/all");
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_RouteMiss);

void BM_TokenHash(benchmark::State& state) {
  const auto token = ok::auth::generate_token(ok::auth::TokenKind::personal);
  for (auto _ : state) benchmark::DoNotOptimize(ok::auth::hash_token(token));
}
BENCHMARK(BM_TokenHash);

void BM_TokenShapeReject(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ok::auth::token_kind("kpat_not-a-real-token"));
}
BENCHMARK(BM_TokenShapeReject);

// A temporary database with one organization, shared by the store-backed benchmarks.
struct Fixture {
  std::filesystem::path dir;
  std::unique_ptr<ok::store::Store> store;
  ok::api::identity::CreatedOrganization org;
  Fixture() {
    dir = std::filesystem::temp_directory_path() / fmt::format("ok-bench-{}", ok::util::new_uuid());
    store = ok::store::open_store("sqlite:" + (dir / "bench.db").string());
    org = ok::api::identity::create_organization(*store, "bench", "bench@example.com", 86400);
  }
  ~Fixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_AuthenticateCached(benchmark::State& state) {
  auto& f = fixture();
  ok::auth::Generations generations;
  ok::auth::Authenticator authenticator(*f.store, generations);
  const std::string header = "Bearer " + f.org.token;
  const auto now = ok::util::now_ms();
  authenticator.authenticate(header, now);  // warm the cache
  for (auto _ : state) benchmark::DoNotOptimize(authenticator.authenticate(header, now));
}
BENCHMARK(BM_AuthenticateCached)->Threads(1)->Threads(2);

void BM_AuthenticateUnknownToken(benchmark::State& state) {
  auto& f = fixture();
  ok::auth::Generations generations;
  ok::auth::Authenticator authenticator(*f.store, generations);
  const std::string header = "Bearer " + ok::auth::generate_token(ok::auth::TokenKind::personal);
  for (auto _ : state) {
    try {
      authenticator.authenticate(header, 0);
    } catch (const std::exception& e) {
      benchmark::DoNotOptimize(&e);
    }
  }
}
BENCHMARK(BM_AuthenticateUnknownToken);

// A different made-up token on every call, as in bench/lua/invalid_token.lua: no cache can
// answer; the token index does once the database has been quiet (auth/token_index.hpp).
void BM_AuthenticateNewUnknownTokens(benchmark::State& state) {
  auto& f = fixture();
  ok::auth::Generations generations;
  ok::auth::Authenticator authenticator(*f.store, generations);
  std::vector<std::string> headers;
  for (int i = 0; i < 200'000; ++i)
    headers.push_back("Bearer " + ok::auth::generate_token(ok::auth::TokenKind::personal));
  std::this_thread::sleep_for(ok::auth::TokenIndex::kQuietPeriod * 2);
  std::size_t next = 0;
  ok::auth::Principal principal;
  for (auto _ : state) {
    benchmark::DoNotOptimize(authenticator.check(headers[next], 0, principal));
    next = (next + 1) % headers.size();
  }
  state.counters["answered_from_memory"] = static_cast<double>(authenticator.token_index().answered());
}
BENCHMARK(BM_AuthenticateNewUnknownTokens);

// A list page answered from the page cache (api/generation_cache.hpp).
void BM_PageCacheHit(benchmark::State& state) {
  ok::auth::Generations generations;
  ok::api::GenerationCache<std::string> cache(generations, 64, 1 << 20,
                                              [](const std::string& body) { return body.size(); });
  const std::string org = ok::util::new_uuid();
  const std::string key = "*\n11:page[size]=3:100";
  cache.get(org, key, [] { return std::make_shared<const std::string>(40'000, 'x'); });
  for (auto _ : state) benchmark::DoNotOptimize(cache.find(org, key));
}
BENCHMARK(BM_PageCacheHit);

void BM_RolesCached(benchmark::State& state) {
  auto& f = fixture();
  ok::auth::Generations generations;
  ok::auth::Authenticator authenticator(*f.store, generations);
  const auto principal = authenticator.authenticate("Bearer " + f.org.token, ok::util::now_ms());
  for (auto _ : state) benchmark::DoNotOptimize(authenticator.roles(principal));
}
BENCHMARK(BM_RolesCached);

void BM_PermissionDecide(benchmark::State& state) {
  std::vector<ok::store::RoleAssignment> roles;
  for (int i = 0; i < 20; ++i) {
    roles.push_back({ok::util::new_uuid(), "org", "team", "t", "Viewer", "Control Planes", ok::util::new_uuid(), "*"});
  }
  const auto target = roles.back().entity_id;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ok::auth::decide(roles, {ok::auth::kControlPlanes, ok::auth::Verb::read, target}));
  }
}
BENCHMARK(BM_PermissionDecide);

void BM_RateLimitCheck(benchmark::State& state) {
  ok::ratelimit::GcraLimiter limiter;
  const ok::ratelimit::Policy policy{"token", 1'000'000'000, std::chrono::seconds(60)};
  const std::string key = "token:" + ok::util::new_uuid();
  for (auto _ : state) {
    benchmark::DoNotOptimize(limiter.check(key, policy, ok::ratelimit::Clock::now(), ok::ratelimit::Mode::consume));
  }
}
BENCHMARK(BM_RateLimitCheck)->Threads(1)->Threads(2);

const std::string kCreateBody =
    R"({"name":"Test Control Plane","description":"A test control plane for exploration.",)"
    R"("cluster_type":"CLUSTER_TYPE_K8S_INGRESS_CONTROLLER","cloud_gateway":false,)"
    R"("proxy_urls":[{"host":"example.com","port":443,"protocol":"https"}],"labels":{"env":"test","team":"a"}})";

void BM_ParseAndValidateCreateBody(benchmark::State& state) {
  const auto& schema = ok::api::control_planes::request_schema();
  for (auto _ : state) {
    auto body = ok::json::parse_body(kCreateBody);
    auto problems = ok::schema::validate(body, schema, ok::schema::Mode::create);
    benchmark::DoNotOptimize(problems);
  }
}
BENCHMARK(BM_ParseAndValidateCreateBody);

void BM_ValidateInvalidBody(benchmark::State& state) {
  const auto& schema = ok::api::control_planes::request_schema();
  const auto body =
      ok::json::parse_body(R"({"name":"x","description":5,"cluster_type":"NOPE","id":"1","labels":{"kong":"x"}})");
  for (auto _ : state) benchmark::DoNotOptimize(ok::schema::validate(body, schema, ok::schema::Mode::create));
}
BENCHMARK(BM_ValidateInvalidBody);

// Gateway configuration bodies: parsing alone (the baseline), then parsing and processing
// against the entity's description (defaults, checks, rendering the JSON that is stored), as
// a PUT of decK does.
const std::string kServiceBody =
    R"({"name":"orders","url":"https://orders.internal:8443/v1","retries":3,"tags":["team-a","prod"]})";
const std::string kRouteBody =
    R"({"name":"orders-api","paths":["/orders","~/orders/\\d+$"],"methods":["GET","POST"],)"
    R"("hosts":["api.example.com"],"headers":{"x-version":["1"]},"service":{"id":"7f9c2ba4-e88f-4d2a-9a1c-3b5e6f708192"}})";
const std::string kPluginBody =
    R"({"name":"rate-limiting","service":{"id":"7f9c2ba4-e88f-4d2a-9a1c-3b5e6f708192"},)"
    R"("config":{"minute":100,"hour":5000,"policy":"local"}})";

void BM_ParseEntityBodyOnly(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ok::json::parse_body(kPluginBody));
}
BENCHMARK(BM_ParseEntityBodyOnly);

void process_and_render(benchmark::State& state, const char* type, const std::string& text) {
  const auto& entity = *ok::api::config::Registry::get().by_name(type);
  for (auto _ : state) {
    auto processed = ok::schema::process_entity(ok::json::parse_body(text), entity.def);
    if (!processed.problems.empty()) state.SkipWithError("the body is invalid");
    const auto& record = entity.def.effective_record(processed.subschema);
    benchmark::DoNotOptimize(boost::json::serialize(ok::schema::render_record(processed.entity, record)));
  }
}
void BM_ProcessService(benchmark::State& state) { process_and_render(state, "services", kServiceBody); }
BENCHMARK(BM_ProcessService);
void BM_ProcessRoute(benchmark::State& state) { process_and_render(state, "routes", kRouteBody); }
BENCHMARK(BM_ProcessRoute);
void BM_ProcessPlugin(benchmark::State& state) { process_and_render(state, "plugins", kPluginBody); }
BENCHMARK(BM_ProcessPlugin);

void BM_ProblemJson(benchmark::State& state) {
  const auto error = ok::errors::ApiError::not_found("The requested control plane was not found.");
  for (auto _ : state) benchmark::DoNotOptimize(ok::errors::render_problem(error, 1234567890123456789ULL));
}
BENCHMARK(BM_ProblemJson);

void BM_BadRequestProblemJson(benchmark::State& state) {
  ok::errors::InvalidParameters params;
  params.push_back({.field = "name", .rule = ok::errors::Rule::min_length, .reason = "too short", .limit = 2});
  params.push_back({.field = "labels.kong", .rule = ok::errors::Rule::is_label, .reason = "reserved prefix"});
  const auto error = ok::errors::ApiError::bad_request(params);
  for (auto _ : state) benchmark::DoNotOptimize(ok::errors::render_problem(error, 42));
}
BENCHMARK(BM_BadRequestProblemJson);

void BM_ControlPlaneJson(benchmark::State& state) {
  ok::store::ControlPlane cp;
  cp.id = ok::util::new_uuid();
  cp.name = "Test Control Plane";
  cp.description = "A test control plane for exploration.";
  cp.labels = {{"env", "test"}, {"team", "a"}};
  cp.proxy_urls = {{"example.com", 443, "https"}};
  cp.created_at = cp.updated_at = ok::util::now_ms();
  ok::api::Settings settings;
  settings.cluster_url = "http://127.0.0.1:8005";
  settings.telemetry_url = "http://127.0.0.1:8006";
  for (auto _ : state) {
    benchmark::DoNotOptimize(boost::json::serialize(ok::api::control_planes::to_json(cp, settings)));
  }
}
BENCHMARK(BM_ControlPlaneJson);

void BM_ParseListQuery(benchmark::State& state) {
  const ok::api::ListSpec spec{.filters = {{"id", ok::api::FilterKind::uuid, {"eq", "oeq"}, {}},
                                           {"name", ok::api::FilterKind::string, {"eq", "neq", "contains"}, {}},
                                           {"cluster_type",
                                            ok::api::FilterKind::enumeration,
                                            {"eq", "neq", "oeq"},
                                            {"CLUSTER_TYPE_CONTROL_PLANE", "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"}}},
                               .sort_fields = {"created_at"},
                               .labels = true};
  const ok::http::QueryParams params = {
      {"page[size]", "100"},
      {"page[number]", "3"},
      {"sort", "created_at desc"},
      {"filter[name][contains]", "prod"},
      {"filter[cluster_type][oeq]", "CLUSTER_TYPE_CONTROL_PLANE,CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"},
      {"labels", "env:prod,team"}};
  for (auto _ : state) benchmark::DoNotOptimize(ok::api::parse_list_query(params, spec));
}
BENCHMARK(BM_ParseListQuery);

void BM_StoreGetControlPlane(benchmark::State& state) {
  auto& f = fixture();
  const ok::store::OrgId org(f.org.organization_id);
  ok::store::ControlPlane cp;
  cp.id = ok::util::new_uuid();
  cp.org_id = org.str();
  cp.name = "bench-" + cp.id;
  cp.created_at = cp.updated_at = ok::util::now_ms();
  f.store->insert_control_plane(cp, {});
  for (auto _ : state) benchmark::DoNotOptimize(f.store->get_control_plane(org, cp.id));
}
BENCHMARK(BM_StoreGetControlPlane)->Threads(1)->Threads(2);

// A page of 100 gateway entities out of 2 000 (keyset, from the middle), the store's part of a
// core-entity list; compare with one control plane read above.
void BM_StoreEntityPage(benchmark::State& state) {
  auto& f = fixture();
  static const auto cp = [&] {
    ok::store::ControlPlane c;
    c.id = ok::util::new_uuid();
    c.org_id = f.org.organization_id;
    c.name = "bench-entities-" + c.id;
    c.created_at = c.updated_at = ok::util::now_ms();
    f.store->insert_control_plane(c, {});
    const auto scope = ok::store::Scope::of(c);
    f.store->entities().write(scope, [](ok::store::EntityTransaction& tx) {
      for (int i = 0; i < 2000; ++i) {
        const auto id = fmt::format("00000000-0000-4000-8000-{:012d}", i);
        tx.put({.type = "services",
                .id = id,
                .body = fmt::format(R"({{"id":"{}","name":"svc-{}","host":"backend.internal","port":80}})", id, i),
                .unique_keys = {{"name", fmt::format("svc-{}", i)}},
                .tags = {"bench"}});
      }
    });
    return c;
  }();
  const auto scope = ok::store::Scope::of(cp);
  const ok::store::EntityPageQuery query{.type = "services", .size = 100, .after_id = "00000000-0000-4000-8000-000000001000"};
  for (auto _ : state) benchmark::DoNotOptimize(f.store->entities().page(scope, query));
}
BENCHMARK(BM_StoreEntityPage)->Threads(1)->Threads(2);

}  // namespace
