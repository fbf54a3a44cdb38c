// openkonnect: one binary with subcommands (serve, migrate, copy, config, version, org create).

#include "api/build.hpp"
#include "api/config/export.hpp"
#include "api/identity/organizations.hpp"
#include "api/remote_changes.hpp"
#include "audit/delivery.hpp"
#include "audit/journal.hpp"
#include "auth/authenticator.hpp"
#include "cli/config_command.hpp"
#include "cluster/hub.hpp"
#include "cluster/listener.hpp"
#include "console/static_files.hpp"
#include "crypto/pem.hpp"
#include "crypto/x509.hpp"
#include "http/server.hpp"
#include "http/tls.hpp"
#include "observability/log.hpp"
#include "ratelimit/gcra_limiter.hpp"
#include "ratelimit/redis_limiter.hpp"
#include "store/sql/backend.hpp"
#include "store/sql/copy.hpp"
#include "store/store.hpp"

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <malloc.h>

#include <unistd.h>
#include <charconv>
#include <cstdlib>
#include <iostream>
#include <thread>

namespace {

constexpr int kUsageError = 2;
constexpr const char* kDefaultDatabase = "sqlite:./var/openkonnect.db";
constexpr const char* kDefaultListen = "127.0.0.1:8080";
constexpr const char* kDefaultClusterListen = "127.0.0.1:8005";
constexpr int kClusterCertificateDays = 3 * 365;  // as Kong's `hybrid gen_cert`

struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

// Beside a SQLite file (<file>.audit); for a database elsewhere, a directory of its own per
// database URL on this machine (nodes of one database on one machine share it, which is safe).
std::filesystem::path default_audit_journal(const std::string& database) {
  if (database.starts_with("sqlite:")) return database.substr(7) + ".audit";
  return std::filesystem::path("/var/tmp") / ("openkonnect-audit-" + ok::crypto::sha1_hex(database).substr(0, 12));
}

// "HOST:PORT" or "[IPv6]:PORT".
std::optional<ListenAddress> parse_listen(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  const auto* begin = text.data() + colon + 1;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(begin, end, port);
  if (ec != std::errc() || ptr != end || begin == end || port > 65535) return std::nullopt;
  return ListenAddress{host, static_cast<std::uint16_t>(port)};
}

// "QUOTA/SECONDS", e.g. "1200/60"; "0" disables the budget.
bool parse_budget(const std::string& text, ok::ratelimit::Policy& policy) {
  if (text == "0") {
    policy.quota = 0;
    return true;
  }
  const auto slash = text.find('/');
  if (slash == std::string::npos) return false;
  std::uint64_t quota = 0;
  std::int64_t seconds = 0;
  auto [p1, e1] = std::from_chars(text.data(), text.data() + slash, quota);
  auto [p2, e2] = std::from_chars(text.data() + slash + 1, text.data() + text.size(), seconds);
  if (e1 != std::errc() || e2 != std::errc() || p1 != text.data() + slash || p2 != text.data() + text.size() ||
      seconds < 1 || seconds > 86400 || quota > 1'000'000'000) {
    return false;
  }
  policy.quota = quota;
  policy.window = std::chrono::seconds(seconds);
  return true;
}

// The generated cluster identity: kept in the database, so that it survives restarts and every
// node of an installation presents the same certificate to data planes that pinned it.
std::pair<std::string, std::string> generated_cluster_identity(ok::store::Store& store,
                                                               const std::vector<std::string>& names) {
  return store.data_planes().cluster_identity([&] {
    std::vector<std::string> all = {"localhost", "127.0.0.1", "::1"};
    for (const auto& n : names) {
      if (!n.empty() && std::find(all.begin(), all.end(), n) == all.end()) all.push_back(n);
    }
    return ok::crypto::self_signed_certificate("openkonnect-cluster", all, kClusterCertificateDays);
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"openkonnect: a self-hosted server for the Kong Konnect platform API"};
  cli.require_subcommand(1);
  cli.set_help_all_flag("--help-all", "Show help for every subcommand");

  std::string database = kDefaultDatabase;
  auto add_database = [&](CLI::App* sub) {
    sub->add_option("--database", database,
                    "Database URL (sqlite:PATH or postgres://USER[:PASSWORD]@HOST:PORT/DATABASE)")
        ->envname("OPENKONNECT_DATABASE")
        ->capture_default_str();
  };

  // serve
  auto* serve = cli.add_subcommand("serve", "Run the API server");
  std::string listen = kDefaultListen;
  ok::http::ServerOptions server_options;
  ok::api::Settings settings;
  std::string cluster_url;
  std::string telemetry_url;
  std::uint64_t read_timeout_ms = 10'000;
  std::uint64_t idle_timeout_ms = 60'000;
  std::uint64_t shutdown_grace_ms = 10'000;
  std::string tls_cert_file;
  std::string tls_key_file;
  serve->add_option("--listen", listen, "Address to listen on, HOST:PORT")
      ->envname("OPENKONNECT_LISTEN")
      ->capture_default_str();
  add_database(serve);
  serve
      ->add_option("--threads", server_options.threads, "I/O threads (0: one per core, four per core with --redis-url)")
      ->envname("OPENKONNECT_THREADS")
      ->check(CLI::Range(0u, 1024u))
      ->capture_default_str();
  serve->add_option("--workers", server_options.workers, "Threads that run request handlers")
      ->envname("OPENKONNECT_WORKERS")
      ->check(CLI::Range(1u, 1024u))
      ->capture_default_str();
  serve->add_option("--max-body-bytes", server_options.max_body_bytes, "Largest request body accepted (413 beyond)")
      ->envname("OPENKONNECT_MAX_BODY_BYTES")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 30))
      ->capture_default_str();
  serve->add_option("--max-header-bytes", server_options.max_header_bytes, "Largest request header block (431 beyond)")
      ->envname("OPENKONNECT_MAX_HEADER_BYTES")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1024 * 1024}))
      ->capture_default_str();
  serve->add_option("--max-json-depth", settings.max_json_depth, "Deepest JSON nesting accepted in a body (400 beyond)")
      ->envname("OPENKONNECT_MAX_JSON_DEPTH")
      ->check(CLI::Range(std::size_t{2}, std::size_t{1024}))
      ->capture_default_str();
  serve->add_option("--list-cache-mib", settings.list_cache_mib, "Memory for cached list pages, MiB (0: no cache)")
      ->envname("OPENKONNECT_LIST_CACHE_MIB")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  bool no_audit = false;
  serve
      ->add_flag("--no-audit", no_audit,
                 "Record no audit log (for comparison in benchmarks; the audit log is on by default)")
      ->envname("OPENKONNECT_NO_AUDIT");
  std::string audit_journal;
  serve
      ->add_option("--audit-journal", audit_journal,
                   "Directory of the audit journal (records wait there for the database; default: beside a "
                   "SQLite database, else under /var/tmp per database URL)")
      ->envname("OPENKONNECT_AUDIT_JOURNAL");
  ok::audit::DeliveryOptions delivery_options;
  std::int64_t audit_retry_ms = delivery_options.longest_retry.count();
  serve
      ->add_option("--audit-max-retry-ms", audit_retry_ms,
                   "Longest pause between attempts to deliver audit logs to a failing webhook")
      ->envname("OPENKONNECT_AUDIT_MAX_RETRY_MS")
      ->check(CLI::Range(std::int64_t{100}, std::int64_t{3'600'000}))
      ->capture_default_str();
  serve->add_option("--max-connections", server_options.max_connections, "Most connections open at once")
      ->envname("OPENKONNECT_MAX_CONNECTIONS")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  serve->add_option("--read-timeout-ms", read_timeout_ms, "Time allowed to send one request's header block or body")
      ->envname("OPENKONNECT_READ_TIMEOUT_MS")
      ->check(CLI::Range(std::uint64_t{100}, std::uint64_t{3'600'000}))
      ->capture_default_str();
  serve->add_option("--idle-timeout-ms", idle_timeout_ms, "Time an idle keep-alive connection stays open")
      ->envname("OPENKONNECT_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(std::uint64_t{100}, std::uint64_t{3'600'000}))
      ->capture_default_str();
  serve->add_option("--shutdown-grace-ms", shutdown_grace_ms, "On SIGTERM, how long in-flight requests may take")
      ->envname("OPENKONNECT_SHUTDOWN_GRACE_MS")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{600'000}))
      ->capture_default_str();
  auto* tls_cert = serve
                       ->add_option("--tls-cert", tls_cert_file,
                                    "PEM certificate chain, server certificate first: serve HTTPS (TLS 1.2+) instead "
                                    "of plain HTTP")
                       ->envname("OPENKONNECT_TLS_CERT")
                       ->type_name("FILE");
  auto* tls_key = serve->add_option("--tls-key", tls_key_file, "PEM private key of --tls-cert, unencrypted")
                      ->envname("OPENKONNECT_TLS_KEY")
                      ->type_name("FILE");
  tls_cert->needs(tls_key);
  tls_key->needs(tls_cert);
  serve
      ->add_option("--cluster-url", cluster_url,
                   "control_plane_endpoint shown on control planes (default https://CLUSTER-HOST:CLUSTER-PORT)")
      ->envname("OPENKONNECT_CLUSTER_URL");
  std::string cluster_listen = kDefaultClusterListen;
  std::string cluster_cert_file;
  std::string cluster_key_file;
  std::vector<std::string> cluster_names;
  ok::cluster::ListenerOptions cluster_options;
  std::uint64_t cluster_debounce_ms = 250;
  std::uint64_t node_purge_days = 14;
  std::string cluster_kong_version(ok::cluster::kControlPlaneKongVersion);
  serve
      ->add_option("--cluster-listen", cluster_listen,
                   "Where Kong data planes connect (TLS), HOST:PORT, or 'off' for no data planes")
      ->envname("OPENKONNECT_CLUSTER_LISTEN")
      ->capture_default_str();
  auto* cluster_cert_opt =
      serve
          ->add_option(
              "--cluster-cert", cluster_cert_file,
              "The cluster listener's certificate chain, PEM (default: a self-signed one kept in the database)")
          ->envname("OPENKONNECT_CLUSTER_CERT");
  auto* cluster_key_opt = serve->add_option("--cluster-key", cluster_key_file, "The key of --cluster-cert, PEM")
                              ->envname("OPENKONNECT_CLUSTER_KEY");
  cluster_cert_opt->needs(cluster_key_opt);
  cluster_key_opt->needs(cluster_cert_opt);
  serve
      ->add_option("--cluster-server-name", cluster_names,
                   "Host names or addresses the generated cluster certificate is valid for (besides localhost)")
      ->envname("OPENKONNECT_CLUSTER_SERVER_NAME");
  serve->add_option("--cluster-max-payload", cluster_options.max_payload, "Largest WebSocket frame either way, bytes")
      ->envname("OPENKONNECT_CLUSTER_MAX_PAYLOAD")
      ->check(CLI::Range(std::size_t{4096}, std::size_t{1} << 30))
      ->capture_default_str();
  serve
      ->add_option("--cluster-debounce-ms", cluster_debounce_ms,
                   "After a configuration change, how long to wait for more before pushing")
      ->envname("OPENKONNECT_CLUSTER_DEBOUNCE_MS")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{60'000}))
      ->capture_default_str();
  serve
      ->add_option("--cluster-kong-version", cluster_kong_version,
                   "The Kong version data planes are checked against (same major, minor no newer)")
      ->envname("OPENKONNECT_CLUSTER_KONG_VERSION")
      ->check(CLI::Validator(
          [](std::string& v) {
            return ok::cluster::parse_kong_version(v) ? std::string() : "expected MAJOR.MINOR.PATCH such as 3.10.0";
          },
          "VERSION"))
      ->capture_default_str();
  std::uint64_t cluster_idle_timeout_ms = 45'000;
  serve
      ->add_option("--cluster-idle-timeout-ms", cluster_idle_timeout_ms,
                   "A data plane silent this long is disconnected (Kong's 1.5 ping intervals)")
      ->envname("OPENKONNECT_CLUSTER_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(std::uint64_t{100}, std::uint64_t{3'600'000}))
      ->capture_default_str();
  serve->add_option("--node-purge-days", node_purge_days, "Forget data-plane nodes not seen for this many days")
      ->envname("OPENKONNECT_NODE_PURGE_DAYS")
      ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{3650}))
      ->capture_default_str();
  serve
      ->add_option("--telemetry-url", telemetry_url,
                   "telemetry_endpoint shown on control planes (default http://HOST:8006)")
      ->envname("OPENKONNECT_TELEMETRY_URL");

  std::string console_dir;
  serve
      ->add_option("--console-dir", console_dir,
                   "Serve the web console built into DIR (web/dist) at / (default: no console)")
      ->envname("OPENKONNECT_CONSOLE_DIR")
      ->type_name("DIR");

  std::string redis_url;
  serve
      ->add_option("--redis-url", redis_url,
                   "Share the rate-limit budgets with the other nodes through Redis, "
                   "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB] (while it is unreachable, each node limits alone)")
      ->envname("OPENKONNECT_REDIS_URL");

  struct BudgetFlag {
    const char* flag;
    const char* env;
    const char* help;
    ok::ratelimit::Policy* policy;
    std::string value;
  };
  auto& limits = settings.rate_limits;
  std::vector<BudgetFlag> budgets = {
      {"--rate-limit-token", "OPENKONNECT_RATE_LIMIT_TOKEN", "Requests per token, QUOTA/SECONDS (0: off)",
       &limits.token, ""},
      {"--rate-limit-org", "OPENKONNECT_RATE_LIMIT_ORG", "Requests per organization, all its tokens together",
       &limits.organization, ""},
      {"--rate-limit-auth-failures", "OPENKONNECT_RATE_LIMIT_AUTH_FAILURES", "Failed authentications per client IP",
       &limits.auth_failures, ""},
      {"--rate-limit-invites", "OPENKONNECT_RATE_LIMIT_INVITES", "POST /v3/invites per organization", &limits.invites,
       ""},
  };
  for (auto& b : budgets) {
    b.value = fmt::format("{}/{}", b.policy->quota, b.policy->window.count());
    serve->add_option(b.flag, b.value, b.help)
        ->envname(b.env)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
        ->capture_default_str()
        ->check(CLI::Validator(
            [](std::string& v) {
              ok::ratelimit::Policy probe;
              return parse_budget(v, probe) ? std::string() : "expected QUOTA/SECONDS such as 1200/60, or 0";
            },
            "QUOTA/SECONDS"));
  }

  // migrate
  auto* migrate = cli.add_subcommand("migrate", "Apply pending database migrations and exit");
  add_database(migrate);

  // copy
  auto* copy = cli.add_subcommand(
      "copy", "Copy an installation into a new database (e.g. from SQLite to PostgreSQL), verified table by table");
  std::string copy_from, copy_to;
  copy->add_option("--from", copy_from, "Database URL to copy from (sqlite:PATH or postgres://...)")->required();
  copy->add_option("--to", copy_to, "Database URL to copy into; it must hold no data")->required();

  // version
  ok::cli::ConfigCommand config(cli);

  auto* version = cli.add_subcommand("version", "Print the version and exit");

  // routes
  auto* routes = cli.add_subcommand("routes", "Print every route the server answers, one 'METHOD template' a line");

  // cluster-certificate
  auto* cluster_certificate = cli.add_subcommand(
      "cluster-certificate", "Print the cluster listener's generated certificate (PEM), for data planes to trust");
  add_database(cluster_certificate);

  // audit rotate-key
  auto* audit = cli.add_subcommand("audit", "Manage the audit log");
  audit->require_subcommand(1);
  auto* audit_rotate = audit->add_subcommand(
      "rotate-key", "Sign audit entries with a new Ed25519 key from now on; old keys stay in the JWKS to verify");
  add_database(audit_rotate);

  // org create
  auto* org = cli.add_subcommand("org", "Manage organizations");
  org->require_subcommand(1);
  auto* org_create = org->add_subcommand("create", "Create an organization with an admin user and a token");
  std::string org_name;
  std::string admin_email;
  std::int64_t token_ttl_days = 365;
  add_database(org_create);
  org_create->add_option("--name", org_name, "Organization name")->required();
  org_create->add_option("--admin-email", admin_email, "Email of the organization's first admin")->required();
  org_create->add_option("--token-ttl-days", token_ttl_days, "Lifetime of the admin's token")
      ->check(CLI::Range(1, 365))
      ->capture_default_str();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    cli.exit(e);
    return kUsageError;
  }

  try {
    if (config.selected()) return config.run();
    if (*version) {
      std::cout << "openkonnect " << OPENKONNECT_VERSION << "\n";
      return 0;
    }
    if (*routes) {
      // The app over a throw-away in-memory store: handlers are registered, never called.
      auto store = ok::store::open_store("sqlite::memory:", false);
      ok::auth::Generations generations;
      ok::auth::Authenticator authenticator(*store, generations);
      ok::ratelimit::GcraLimiter limiter;
      auto app = ok::api::build_app(*store, authenticator, generations, limiter, settings);
      for (const auto& line : app->route_table()) std::cout << line << "\n";
      return 0;
    }
    if (*migrate) {
      auto store = ok::store::open_store(database, true);
      std::cout << boost::json::serialize(boost::json::object{{"schema_version", store->schema_version()}}) << "\n";
      return 0;
    }
    if (*copy) {
      auto from = ok::store::sql::open_backend(copy_from);
      auto to = ok::store::sql::open_backend(copy_to);
      const bool terminal = ::isatty(STDERR_FILENO) != 0;
      const auto copied = ok::store::sql::copy_database(
          *from, *to, [terminal](const ok::store::sql::TableCopy& table, std::size_t done, std::size_t total) {
            std::cerr << fmt::format("{}[{:>2}/{}] {:<28} {:>9} rows{}", terminal ? "\r" : "", done, total, table.table,
                                     table.rows, terminal && done < total ? "" : "\n")
                      << std::flush;
          });
      boost::json::object tables;
      for (const auto& table : copied) tables[table.table] = {{"rows", table.rows}, {"sha256", table.digest}};
      std::cout << boost::json::serialize(boost::json::object{{"copied", true}, {"tables", std::move(tables)}})
                << std::endl;
      return 0;
    }
    if (*cluster_certificate) {
      auto store = ok::store::open_store(database, true);
      std::cout << generated_cluster_identity(*store, {}).first;
      return 0;
    }
    if (*audit_rotate) {
      auto store = ok::store::open_store(database, true);
      const auto key = ok::audit::make_signing_key();
      store->audit().rotate_signing_key(key);
      std::cout << boost::json::serialize(boost::json::object{{"kid", key.kid}}) << std::endl;
      return 0;
    }
    if (*org_create) {
      auto store = ok::store::open_store(database, true);
      auto created = ok::api::identity::create_organization(*store, org_name, admin_email, token_ttl_days * 86400);
      std::cout << boost::json::serialize(boost::json::object{{"organization_id", created.organization_id},
                                                              {"user_id", created.user_id},
                                                              {"token", created.token}})
                << std::endl;
      return 0;
    }
    if (*serve) {
      auto address = parse_listen(listen);
      if (!address) {
        std::cerr << "--listen: expected HOST:PORT, got [" << listen << "]\n";
        return kUsageError;
      }
      // glibc gives each busy thread its own malloc arena (up to 8 per core); with a pool of
      // handler threads that is fragmentation that only grows. A few arenas are plenty.
      mallopt(M_ARENA_MAX, 4);
      ok::observability::init_logging();
      server_options.host = address->host;
      server_options.port = address->port;
      server_options.read_timeout = std::chrono::milliseconds(read_timeout_ms);
      server_options.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
      server_options.shutdown_grace = std::chrono::milliseconds(shutdown_grace_ms);
      settings.max_body_bytes = server_options.max_body_bytes;
      settings.audit = !no_audit;
      delivery_options.longest_retry = std::chrono::milliseconds(audit_retry_ms);
      delivery_options.first_retry = std::min(delivery_options.first_retry, delivery_options.longest_retry);
      if (!tls_cert_file.empty() || !tls_key_file.empty()) {
        // Before the database is opened or migrated: a TLS mistake should cost nothing.
        const auto certificate_pem = ok::http::read_pem_file(tls_cert_file);
        const auto key_pem = ok::http::read_pem_file(tls_key_file);
        try {
          server_options.tls = ok::http::make_server_tls_context(certificate_pem, key_pem);
        } catch (const std::runtime_error& e) {
          throw std::runtime_error(
              fmt::format("TLS (--tls-cert {}, --tls-key {}): {}", tls_cert_file, tls_key_file, e.what()));
        }
      }
      // Also before the database: a console directory that is not one stops the start (status 2).
      std::optional<ok::console::StaticFiles> console;
      if (!console_dir.empty()) {
        try {
          console = ok::console::StaticFiles::load(console_dir);
        } catch (const std::invalid_argument& e) {
          throw std::invalid_argument(fmt::format("--console-dir: {}", e.what()));
        }
      }
      const std::string url_host =
          address->host.find(':') != std::string::npos ? "[" + address->host + "]" : address->host;
      const bool cluster_on = cluster_listen != "off";
      std::optional<ListenAddress> cluster_address;
      if (cluster_on) {
        cluster_address = parse_listen(cluster_listen);
        if (!cluster_address) {
          std::cerr << "--cluster-listen: expected HOST:PORT or off, got [" << cluster_listen << "]\n";
          return kUsageError;
        }
      }
      const std::string cluster_host =
          cluster_address && cluster_address->host != "0.0.0.0" && cluster_address->host != "::" ? cluster_address->host
                                                                                                 : address->host;
      const std::string cluster_url_host =
          cluster_host.find(':') != std::string::npos ? "[" + cluster_host + "]" : cluster_host;
      settings.telemetry_url = telemetry_url.empty() ? fmt::format("http://{}:8006", url_host) : telemetry_url;

      for (auto& b : budgets) parse_budget(b.value, *b.policy);
      std::unique_ptr<ok::ratelimit::Limiter> limiter;
      ok::ratelimit::RedisLimiter* redis_limiter = nullptr;
      if (redis_url.empty()) {
        limiter = std::make_unique<ok::ratelimit::GcraLimiter>();
      } else {
        auto shared =
            std::make_unique<ok::ratelimit::RedisLimiter>(ok::ratelimit::RedisLimiter::Options{.url = redis_url});
        redis_limiter = shared.get();
        limiter = std::move(shared);
        // A request's budgets are checked on its I/O thread, which waits for Redis's answer
        // meanwhile: with one thread per core the cores idled during those waits (authenticated
        // reads at 0.28x the in-memory rate; with four per core 0.34x, eight 0.39x, sixteen
        // 0.37x on two cores: bench/redis_suite.py).
        if (server_options.threads == 0) server_options.threads = 4 * std::max(1u, std::thread::hardware_concurrency());
      }
      auto store = ok::store::open_store(database, true);
      ok::auth::Generations generations;
      ok::auth::Authenticator authenticator(*store, generations);

      // The data-plane side: the hub hears of every committed configuration change, and the
      // cluster listener serves data planes from it.
      ok::api::config::StoreConfigSource config_source(*store);
      ok::cluster::Hub hub(*store, config_source, std::chrono::milliseconds(cluster_debounce_ms));
      std::unique_ptr<ok::cluster::Listener> cluster;
      std::uint16_t cluster_port = 0;
      if (cluster_on) {
        if (!cluster_cert_file.empty()) {
          cluster_options.certificate_pem = ok::http::read_pem_file(cluster_cert_file);
          cluster_options.private_key_pem = ok::http::read_pem_file(cluster_key_file);
        } else {
          std::vector<std::string> names = cluster_names;
          names.push_back(cluster_host);
          std::tie(cluster_options.certificate_pem, cluster_options.private_key_pem) =
              generated_cluster_identity(*store, names);
        }
        cluster_options.host = cluster_address->host;
        cluster_options.port = cluster_address->port;
        cluster_options.kong_version = *ok::cluster::parse_kong_version(cluster_kong_version);
        cluster_options.purge_after = std::chrono::seconds(node_purge_days * 86400);
        cluster_options.idle_timeout = std::chrono::milliseconds(cluster_idle_timeout_ms);
        try {
          cluster = std::make_unique<ok::cluster::Listener>(*store, hub, cluster_options);
        } catch (const std::runtime_error& e) {
          throw std::runtime_error(fmt::format("the cluster certificate cannot be used: {}", e.what()));
        }
        cluster_port = cluster->start();
      }
      settings.cluster_url = !cluster_url.empty() ? cluster_url
                             : cluster_on         ? fmt::format("https://{}:{}", cluster_url_host, cluster_port)
                                                  : std::string();
      store->entities().on_committed(
          [&hub](const ok::store::Scope& scope) { hub.changed(scope.org(), scope.control_plane_id()); });

      // Several nodes on one database: what the others commit reaches this node's caches and data planes.
      ok::api::RemoteChanges remote_changes(generations, hub);
      store->listen(&remote_changes);
      struct StopListening {
        ok::store::Store& store;
        ~StopListening() { store.listen(nullptr); }
      } stop_listening{*store};

      auto app = ok::api::build_app(*store, authenticator, generations, *limiter, settings);
      app->attach_hub(hub);
      app->metrics().add_section([&hub] { return hub.render_metrics(); });
      if (redis_limiter) app->metrics().add_section([redis_limiter] { return redis_limiter->render_metrics(); });
      if (console) {
        app->attach_console(*console);
        ok::observability::log_event(ok::observability::Level::info,
                                     fmt::format("web console at / from {} ({} files, {} bytes)", console_dir,
                                                 console->size(), console->total_bytes()));
      }
      if (cluster_on) {
        ok::observability::log_event(ok::observability::Level::info,
                                     fmt::format("data planes connect to {}:{} (TLS; control_plane_endpoint {})",
                                                 cluster_address->host, cluster_port, settings.cluster_url));
      }
      std::unique_ptr<ok::audit::Journal> journal;
      if (settings.audit) {
        journal = std::make_unique<ok::audit::Journal>(
            *store,
            ok::audit::JournalOptions{.directory = audit_journal.empty() ? default_audit_journal(database)
                                                                         : std::filesystem::path(audit_journal)});
        journal->ingest();  // what a crashed process left, before anything new
        journal->start();
        app->attach_journal(*journal);
      }
      // Audit delivery runs on every node (docs/AUDIT.md): the records are in the shared database.
      ok::audit::Delivery delivery(*store, delivery_options);
      delivery.start();
      ok::http::Server server(*app, server_options);
      server.run([&](std::uint16_t port) {
        ok::observability::log_event(
            ok::observability::Level::info,
            fmt::format("openkonnect {} listening on {}://{}:{} (database {}, schema version {})", OPENKONNECT_VERSION,
                        server_options.tls ? "https" : "http", url_host, port, ok::store::redacted_url(database),
                        store->schema_version()));
      });
      if (cluster) cluster->stop();
      delivery.stop();
      if (journal) journal->stop();  // every record written is in the database after this
      store->entities().on_committed({});
      ok::observability::log_event(ok::observability::Level::info, "stopped");
      ok::observability::flush_logging();
      return 0;
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kUsageError;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    ok::observability::flush_logging();
    return 1;
  }
  return kUsageError;
}
