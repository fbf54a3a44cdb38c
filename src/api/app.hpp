#pragma once
// The application: the route table and the pipeline every request goes through
// (target parsing -> routing (404/405) -> authentication (401) -> handler), and the one
// place where failures become problem+json, get logged with their trace id and counted.

#include "api/context.hpp"
#include "audit/journal.hpp"
#include "errors/api_error.hpp"
#include "http/application.hpp"
#include "http/request.hpp"
#include "http/router.hpp"
#include "observability/metrics.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ok::console {
class StaticFiles;
}

namespace ok::api {

using Handler = std::function<http::Response(RequestContext&)>;
// The answer when it is already in memory (a cached page), without touching the database;
// std::nullopt sends the request on to the route's Handler.
using CachedAnswer = std::function<std::optional<http::Response>(RequestContext&)>;

// A write that finishes without a thread waiting for it. `start` hands the write to the store
// with a callback that runs once the write is durable or has failed; `finish` then turns that
// outcome into the answer, or throws (an errors::ApiError, or the store's error itself).
struct DeferredWrite {
  std::function<void(store::WriteDone)> start;
  std::function<http::Response(std::exception_ptr)> finish;
};
// Checks and prepares a write on the I/O thread (authorization, validation: all cheap), and
// returns the write to start.
using DeferredHandler = std::function<DeferredWrite(RequestContext&)>;

struct RouteSpec {
  Handler handler;
  bool authenticated = true;
  std::size_t metrics_row = 0;
  bool quick = false;        // a read of one item: cheap enough to run on the I/O thread
  CachedAnswer cached;       // optional; tried on the I/O thread before the handler is sent away
  DeferredHandler deferred;  // instead of `handler`, for a write that is one store call
};

class App final : public http::Application {
 public:
  App(store::Store& store, auth::Authenticator& authenticator, auth::Generations& generations,
      ratelimit::Limiter& limiter, Settings settings);

  // Registers a route; call before the first request.
  void route(std::string method, std::string path_template, Handler handler, bool authenticated = true);
  // A route whose answers may be in memory already: `cached` runs on the I/O thread, and only
  // when it has nothing does `handler` run on a worker.
  void cached_route(std::string method, std::string path_template, Handler handler, CachedAnswer cached);
  // A write route whose handler neither blocks nor needs a worker: see DeferredWrite.
  void deferred_route(std::string method, std::string path_template, DeferredHandler handler);
  // Freezes the route table (creates the metrics rows); called by the server before serving.
  void finalize();

  // What the pipeline learned about a request, for logging, metrics and headers.
  struct Outcome {
    const char* route_label = "unmatched";
    std::size_t metrics_row = 0;
    bool console = false;  // answered by the web console: it sets its own caching and security headers
    std::string org_id;
    RateDecisions rate;  // every budget checked, for the RateLimit-Policy and RateLimit headers
    // For the audit record: set once authentication was tried (an authenticated route).
    bool audited = false;
    std::optional<auth::Principal> principal;
    std::optional<auth::AuthFailure> auth_failure;
    std::string item_id;                  // the route's last path parameter: the entity the request names
    ::ok::audit::Journal::Intent intent;  // a change's record, begun before its handler runs
  };
  // A request admitted (routed, authenticated, within budget) whose handler has not run.
  struct Pending {
    const RouteSpec* route;
    RequestContext context;
  };
  struct Begun final : http::Exchange {
    std::chrono::steady_clock::time_point started;
    Outcome outcome;
    std::unique_ptr<Pending> pending;         // when `response` is not the answer yet: complete()
    std::unique_ptr<DeferredWrite> deferred;  // when set: start_deferred(), then finish_deferred()
  };

  // The whole pipeline in one call (tests, fuzzers).
  http::Response handle(http::Request& request);

  // The same in two steps, for the server. begin() does the cheap part on the I/O thread:
  // parsing, routing, authentication and rate limits — so 404s, 401s and 429s, including a
  // flood of bad tokens, never leave it — and runs the handler too when it reads a single item
  // (GET of a path ending in a parameter, /me, /healthz …) or has its answer in memory (a
  // cached list page). Otherwise the handler (a list that
  // may scan, a write that waits for its group commit) is left in `pending` for complete(),
  // which the server runs on a worker so that it never holds up other connections.
  // (http::Application, for the server.)
  std::unique_ptr<http::Exchange> begin(http::Request& request) override;
  http::Response complete(http::Exchange& exchange) override;
  // For a deferred write: starts it; `done` runs on a store thread when it has ended, and the
  // server then calls finish_deferred() (on the connection's thread) for the answer.
  void start_deferred(http::Exchange& exchange, http::WriteDone done) override;
  http::Response finish_deferred(http::Exchange& exchange, std::exception_ptr error) override;

  // For failures found by the transport before a request is complete (413, 431, malformed
  // HTTP): renders, logs and counts them like any other response.
  http::Response transport_error(const errors::ApiError& error, const http::Request& partial) override;
  void connection_opened() override { metrics_->connection_opened(); }
  void connection_closed() override { metrics_->connection_closed(); }

  observability::Metrics& metrics() { return *metrics_; }
  const Settings& settings() const { return settings_; }
  Services& services() { return services_; }
  // Connects the data-plane hub (before serving): handlers then tell it what they changed.
  void attach_hub(cluster::Hub& hub) { services_.hub = &hub; }
  // Where audit records go (before serving); none: requests are not recorded (unit tests).
  void attach_journal(::ok::audit::Journal& journal) { journal_ = &journal; }
  // The web console (before serving): it answers the GET and HEAD requests no route matched
  // (console/static_files.hpp); none: those are 404s like any unknown path.
  void attach_console(const console::StaticFiles& files) { console_ = &files; }
  // Every route as "METHOD template", for docs and the inventory test.
  std::vector<std::string> route_table() const;

 private:
  // Every route registration ends here: it numbers the route's metrics row.
  void add_route(std::string method, std::string path_template, RouteSpec spec);
  std::unique_ptr<Pending> admit(http::Request& request, Outcome& outcome, http::Response& early);
  http::Response run(Pending& pending, Outcome& outcome);
  // What follows every handler: its rate decisions into the outcome, and the generation bump
  // of a successful write.
  void after_handler(RequestContext& context, const http::Response* response, Outcome& outcome);
  template <typename Stage>
  http::Response guarded(const http::Request& request, Stage&& stage);
  void conclude(const http::Request& request, Begun& begun);
  Begun begin_request(http::Request& request);
  // Spends the principal's token and organization budgets; 429 when either is exhausted.
  void rate_limit(const auth::Principal& principal, Outcome& outcome);
  // After a failed authentication: spends the client address's failure budget and turns
  // the 401 into a 429 once it is exhausted.
  void rate_limit_failure(const http::Request& request, Outcome& outcome);
  http::Response render_error(const errors::ApiError& error, std::uint64_t trace_id);
  void finish(const http::Request& request, http::Response& response, const Outcome& outcome, double seconds);
  // Writes the audit record of a concluded request to the journal; when that fails, the
  // answer becomes a 503 (no answer leaves without its record).
  void record(const http::Request& request, Begun& begun);
  // The audit entry of the request as far as it has gone (the answer's status, or 0).
  ::ok::audit::EntryView entry_of(const http::Request& request, const Outcome& outcome, unsigned status) const;

  Settings settings_;
  Caches caches_;
  Services services_;
  auth::Generations& generations_;
  http::Router<RouteSpec> router_;
  std::unique_ptr<observability::Metrics> metrics_;
  ::ok::audit::Journal* journal_ = nullptr;
  const console::StaticFiles* console_ = nullptr;
  std::size_t console_metrics_row_ = 0;
};

}  // namespace ok::api
