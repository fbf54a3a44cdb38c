// Micro-benchmarks of the data-plane side: what the hub does once per configuration change for a
// control plane of 10 000 entities, against baselines measured in the same binary.
//
//   BM_DpStorePages10k        baseline: the same rows read with EntityStore::page, 1 000 a page,
//                             every entity type the renderer asks for, bodies not parsed
//   BM_DpRenderConfiguration  api::config::render_configuration (pages, parse, flatten foreign
//                             keys, drop disabled, build the config_table)
//   BM_DpSerialize10k         baseline: boost::json::serialize of the config_table
//   BM_DpGzip10k              baseline: cluster::gzip of that serialized string
//   BM_DpSectionHashes10k     informational: the canonical MD5 of every section (part of make_payload)
//   BM_DpMakePayload10k       cluster::make_payload: hashes + reconfigure message + serialize + gzip
//   BM_DpRenderAndPayload10k  render_configuration + make_payload: one change, as the hub does it
//
// The entities are shaped like bench/config_suite.py's (and stored as the API stores them, bodies
// byte for byte as in its baseline): 2 500 services, 2 500 routes (route i on service i),
// 2 000 consumers, 2 000 key-auth credentials (one per consumer), 1 000 rate-limiting plugins
// (plugin i on service i) = 10 000, written directly into a temporary SQLite database.

#include "api/config/export.hpp"
#include "api/config/registry.hpp"
#include "api/identity/organizations.hpp"
#include "cluster/payload.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/json.hpp>

#include <filesystem>

namespace {

constexpr int kServices = 2500, kRoutes = 2500, kConsumers = 2000, kKeyAuths = 2000, kPlugins = 1000;
constexpr int kEntities = kServices + kRoutes + kConsumers + kKeyAuths + kPlugins;

std::string eid(const char* prefix, int i) { return fmt::format("{}-0000-4000-8000-{:012d}", prefix, i); }

constexpr const char* kRateLimitingConfig =
    R"({"second":null,"minute":100,"hour":null,"day":null,"month":null,"year":null,"limit_by":"consumer",)"
    R"("header_name":null,"path":null,"policy":"local","fault_tolerant":true,"redis":{"host":null,"port":6379,)"
    R"("timeout":2000,"username":null,"password":null,"database":0,"ssl":false,"ssl_verify":false,)"
    R"("server_name":null},"hide_client_headers":false,"error_code":429,"error_message":"API rate limit )"
    R"(exceeded","sync_rate":-1})";

// A temporary database holding one control plane with the 10 000 entities.
struct DpFixture {
  std::filesystem::path dir;
  std::unique_ptr<ok::store::Store> store;
  ok::store::ControlPlane cp;

  DpFixture() {
    dir = std::filesystem::temp_directory_path() / fmt::format("ok-bench-dp-{}", ok::util::new_uuid());
    store = ok::store::open_store("sqlite:" + (dir / "bench.db").string());
    const auto org = ok::api::identity::create_organization(*store, "bench-dp", "bench-dp@example.com", 86400);
    cp.id = ok::util::new_uuid();
    cp.org_id = org.organization_id;
    cp.name = "bench-dataplane";
    cp.created_at = cp.updated_at = ok::util::now_ms();
    store->insert_control_plane(cp, {});
    const auto scope = ok::store::Scope::of(cp);
    const auto ts = ok::util::now_ms() / 1000;
    const std::vector<std::string> tags{"openkonnect-bench"};
    store->entities().write(scope, [&](ok::store::EntityTransaction& tx) {
      for (int i = 0; i < kServices; ++i) {
        const auto id = eid("10000000", i);
        tx.put({.type = "services",
                .id = id,
                .body = fmt::format(
                    R"({{"id":"{}","created_at":{},"updated_at":{},"name":"svc-{:06d}","retries":5,"protocol":"http",)"
                    R"("host":"svc-{:06d}.bench.internal","port":80,"path":"/","connect_timeout":60000,)"
                    R"("write_timeout":60000,"read_timeout":60000,"tags":["openkonnect-bench"],"enabled":true}})",
                    id, ts, ts, i, i),
                .unique_keys = {{"name", fmt::format("svc-{:06d}", i)}},
                .tags = tags});
      }
      for (int i = 0; i < kRoutes; ++i) {
        const auto id = eid("20000000", i);
        const auto service = eid("10000000", i % kServices);
        tx.put({.type = "routes",
                .id = id,
                .body = fmt::format(
                    R"({{"id":"{}","created_at":{},"updated_at":{},"name":"route-{:06d}","protocols":["http","https"],)"
                    R"("https_redirect_status_code":426,"regex_priority":0,"strip_path":true,"path_handling":"v0",)"
                    R"("preserve_host":false,"request_buffering":true,"response_buffering":true,)"
                    R"("tags":["openkonnect-bench"],"service":{{"id":"{}"}},"paths":["/svc-{:06d}"]}})",
                    id, ts, ts, i, service, i),
                .unique_keys = {{"name", fmt::format("route-{:06d}", i)}},
                .references = {{"service", "services", service, ok::store::OnDelete::restrict_unless_forced}},
                .tags = tags});
      }
      for (int i = 0; i < kConsumers; ++i) {
        const auto id = eid("30000000", i);
        tx.put({.type = "consumers",
                .id = id,
                .body = fmt::format(R"({{"id":"{}","created_at":{},"updated_at":{},"username":"consumer-{:06d}",)"
                                    R"("custom_id":"cid-{:06d}","tags":["openkonnect-bench"]}})",
                                    id, ts, ts, i, i),
                .unique_keys = {{"username", fmt::format("consumer-{:06d}", i)},
                                {"custom_id", fmt::format("cid-{:06d}", i)}},
                .tags = tags});
      }
      for (int i = 0; i < kKeyAuths; ++i) {
        const auto id = eid("40000000", i);
        const auto consumer = eid("30000000", i % kConsumers);
        tx.put({.type = "keyauth_credentials",
                .id = id,
                .body = fmt::format(R"({{"id":"{}","created_at":{},"consumer":{{"id":"{}"}},)"
                                    R"("key":"bench-key-{:06d}-k8Jq2vXz","tags":["openkonnect-bench"]}})",
                                    id, ts, consumer, i),
                .unique_keys = {{"key", fmt::format("bench-key-{:06d}-k8Jq2vXz", i)}},
                .references = {{"consumer", "consumers", consumer, ok::store::OnDelete::cascade}},
                .tags = tags});
      }
      for (int i = 0; i < kPlugins; ++i) {
        const auto id = eid("50000000", i);
        const auto service = eid("10000000", i % kServices);
        tx.put({.type = "plugins",
                .id = id,
                .body = fmt::format(R"({{"id":"{}","name":"rate-limiting","created_at":{},"updated_at":{},)"
                                    R"("service":{{"id":"{}"}},"config":{},"protocols":["grpc","grpcs","http","https"],)"
                                    R"("enabled":true,"tags":["openkonnect-bench"]}})",
                                    id, ts, ts, service, kRateLimitingConfig),
                .unique_keys = {{"name,route,service,consumer,consumer_group",
                                 fmt::format("rate-limiting\x1f\x1f{}\x1f\x1f", service)}},
                .references = {{"service", "services", service, ok::store::OnDelete::cascade}},
                .tags = tags});
      }
    });
  }
  ~DpFixture() {
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

DpFixture& dp_fixture() {
  static DpFixture f;
  return f;
}

// The config_table of the fixture's control plane, rendered once (the input of the payload
// benchmarks), and its serialization.
const boost::json::object& config_table() {
  static const boost::json::object table = [] {
    auto& f = dp_fixture();
    auto rendered = ok::api::config::render_configuration(*f.store, f.cp);
    return std::move(*rendered.config_table);
  }();
  return table;
}

const std::string& serialized_table() {
  static const std::string json = boost::json::serialize(config_table());
  return json;
}

// Entities only: `parameters` (Kong's cluster_id row) is an array of the table too.
std::size_t entities_in(const boost::json::object& table) {
  std::size_t n = 0;
  for (const auto& kv : table) {
    if (kv.value().is_array() && kv.key() != "parameters") n += kv.value().get_array().size();
  }
  return n;
}

void set_entity_counters(benchmark::State& state, std::size_t entities) {
  state.counters["entities"] = static_cast<double>(entities);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * entities));
}

void BM_DpStorePages10k(benchmark::State& state) {
  auto& f = dp_fixture();
  const auto scope = ok::store::Scope::of(f.cp);
  std::size_t rows = 0, bytes = 0;
  for (auto _ : state) {
    rows = bytes = 0;
    for (const auto* entity : ok::api::config::Registry::get().entities()) {
      ok::store::EntityPageQuery query{.type = entity->def.name, .size = 1000};
      while (true) {
        auto page = f.store->entities().page(scope, query);
        rows += page.items.size();
        for (const auto& item : page.items) bytes += item.body.size();
        if (!page.more || page.items.empty()) break;
        query.after_id = page.items.back().id;
      }
    }
    benchmark::DoNotOptimize(bytes);
  }
  if (rows != kEntities) state.SkipWithError("the store does not hold the 10 000 entities");
  state.counters["body_bytes"] = static_cast<double>(bytes);
  set_entity_counters(state, rows);
}
BENCHMARK(BM_DpStorePages10k)->Unit(benchmark::kMillisecond);

void BM_DpRenderConfiguration10k(benchmark::State& state) {
  auto& f = dp_fixture();
  std::size_t entities = 0;
  for (auto _ : state) {
    auto rendered = ok::api::config::render_configuration(*f.store, f.cp);
    entities = entities_in(*rendered.config_table);
    benchmark::DoNotOptimize(rendered);
  }
  if (entities != kEntities) state.SkipWithError("the rendered configuration does not hold the 10 000 entities");
  set_entity_counters(state, entities);
}
BENCHMARK(BM_DpRenderConfiguration10k)->Unit(benchmark::kMillisecond);

void BM_DpSerialize10k(benchmark::State& state) {
  const auto& table = config_table();
  std::size_t size = 0;
  for (auto _ : state) {
    auto json = boost::json::serialize(table);
    size = json.size();
    benchmark::DoNotOptimize(json);
  }
  state.counters["json_bytes"] = static_cast<double>(size);
  set_entity_counters(state, entities_in(table));
}
BENCHMARK(BM_DpSerialize10k)->Unit(benchmark::kMillisecond);

void BM_DpGzip10k(benchmark::State& state) {
  const auto& json = serialized_table();
  std::size_t size = 0;
  for (auto _ : state) {
    auto gz = ok::cluster::gzip(json);
    size = gz.size();
    benchmark::DoNotOptimize(gz);
  }
  state.counters["json_bytes"] = static_cast<double>(json.size());
  state.counters["gzip_bytes"] = static_cast<double>(size);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * json.size()));
}
BENCHMARK(BM_DpGzip10k)->Unit(benchmark::kMillisecond);

void BM_DpSectionHashes10k(benchmark::State& state) {
  const auto& table = config_table();
  for (auto _ : state) {
    for (const auto& kv : table) benchmark::DoNotOptimize(ok::cluster::section_hash(&kv.value()));
  }
  set_entity_counters(state, entities_in(table));
}
BENCHMARK(BM_DpSectionHashes10k)->Unit(benchmark::kMillisecond);

void BM_DpMakePayload10k(benchmark::State& state) {
  const auto& table = config_table();
  std::size_t json_bytes = 0, frame_bytes = 0;
  for (auto _ : state) {
    auto payload = ok::cluster::make_payload(table, 1.7e9);
    json_bytes = payload->json_bytes;
    frame_bytes = payload->frame.size();
    benchmark::DoNotOptimize(payload);
  }
  state.counters["json_bytes"] = static_cast<double>(json_bytes);
  state.counters["gzip_bytes"] = static_cast<double>(frame_bytes);
  set_entity_counters(state, entities_in(table));
}
BENCHMARK(BM_DpMakePayload10k)->Unit(benchmark::kMillisecond);

void BM_DpRenderAndPayload10k(benchmark::State& state) {
  auto& f = dp_fixture();
  for (auto _ : state) {
    auto rendered = ok::api::config::render_configuration(*f.store, f.cp);
    benchmark::DoNotOptimize(ok::cluster::make_payload(*rendered.config_table, 1.7e9));
  }
  set_entity_counters(state, kEntities);
}
BENCHMARK(BM_DpRenderAndPayload10k)->Unit(benchmark::kMillisecond);

}  // namespace
