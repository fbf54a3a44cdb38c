#pragma once
// The application: the route table and the pipeline every request goes through
// (target parsing -> routing (404/405) -> authentication (401) -> handler), and the one
// place where failures become problem+json, get logged with their trace id and counted.

#include "api/context.hpp"
#include "errors/api_error.hpp"
#include "http/request.hpp"
#include "http/router.hpp"
#include "observability/metrics.hpp"

#include <functional>
#include <memory>
#include <string>

namespace ok::api {

using Handler = std::function<http::Response(RequestContext&)>;

struct RouteSpec {
  Handler handler;
  bool authenticated = true;
  std::size_t metrics_row = 0;
  bool quick = false;  // a read of one item: cheap enough to run on the I/O thread
};

class App {
 public:
  App(store::Store& store, auth::Authenticator& authenticator, auth::Generations& generations,
      ratelimit::Limiter& limiter, Settings settings);

  // Registers a route; call before the first request.
  void route(std::string method, std::string path_template, Handler handler, bool authenticated = true);
  // Freezes the route table (creates the metrics rows); called by the server before serving.
  void finalize();

  http::Response handle(http::Request& request);

  // True when the request reads a single item (GET of a path ending in a parameter, /me,
  // /healthz …): the server runs such requests on its I/O thread instead of handing them to
  // a worker, saving two thread wake-ups. Lists and writes, which can take long (a filtered
  // scan, a group commit), go to the workers so they never hold up other connections.
  bool is_quick(std::string_view method, std::string_view target) const;

  // For failures found by the transport before a request is complete (413, 431, malformed
  // HTTP): renders, logs and counts them like any other response.
  http::Response transport_error(const errors::ApiError& error, const http::Request& partial);

  observability::Metrics& metrics() { return *metrics_; }
  const Settings& settings() const { return settings_; }
  Services& services() { return services_; }
  // Every route as "METHOD template", for docs and the inventory test.
  std::vector<std::string> route_table() const;

 private:
  // What the pipeline learned about a request, for logging, metrics and headers.
  struct Outcome {
    const char* route_label = "unmatched";
    std::size_t metrics_row = 0;
    std::string org_id;
    RateDecisions rate;  // every budget checked, for the RateLimit-Policy and RateLimit headers
  };

  http::Response dispatch(http::Request& request, Outcome& outcome);
  // Spends the principal's token and organization budgets; 429 when either is exhausted.
  void rate_limit(const auth::Principal& principal, Outcome& outcome);
  // After a failed authentication: spends the client address's failure budget and turns
  // the 401 into a 429 once it is exhausted.
  void rate_limit_failure(const http::Request& request, Outcome& outcome);
  http::Response render_error(const errors::ApiError& error, std::uint64_t trace_id);
  void finish(const http::Request& request, http::Response& response, const Outcome& outcome, double seconds);

  Settings settings_;
  Caches caches_;
  Services services_;
  auth::Generations& generations_;
  http::Router<RouteSpec> router_;
  std::unique_ptr<observability::Metrics> metrics_;
};

}  // namespace ok::api
