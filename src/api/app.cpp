#include "api/app.hpp"

#include "errors/problem.hpp"
#include "http/target.hpp"
#include "observability/log.hpp"
#include "store/errors.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>

#include <chrono>

namespace ok::api {

App::App(store::Store& store, auth::Authenticator& authenticator, Settings settings)
    : settings_(std::move(settings)), services_{store, authenticator, settings_} {}

void App::route(std::string method, std::string path_template, Handler handler, bool authenticated) {
  const std::size_t row = router_.routes().size() + 1;
  router_.add(std::move(method), std::move(path_template), RouteSpec{std::move(handler), authenticated, row});
}

void App::finalize() {
  std::vector<std::string> labels{"unmatched"};
  for (const auto& r : router_.routes()) labels.push_back(r->method + " " + r->path_template);
  metrics_ = std::make_unique<observability::Metrics>(std::move(labels));
}

std::vector<std::string> App::route_table() const {
  std::vector<std::string> out;
  for (const auto& r : router_.routes()) out.push_back(r->method + " " + r->path_template);
  return out;
}

http::Response App::render_error(const errors::ApiError& error, std::uint64_t trace_id) {
  http::Response r;
  r.status = static_cast<unsigned>(error.status());
  r.content_type = errors::kProblemContentType;
  r.body = errors::render_problem(error, trace_id);
  if (error.status() == errors::Status::too_many_requests) {
    r.headers.emplace_back("Retry-After", std::to_string(std::max<std::uint64_t>(1, error.retry_after_seconds())));
  }
  if (error.status() == errors::Status::method_not_allowed) {
    std::string allow;
    for (const auto& m : error.allowed_methods()) allow += allow.empty() ? m : ", " + m;
    r.headers.emplace_back("Allow", allow);
  }
  return r;
}

http::Response App::dispatch(http::Request& request, const char*& route_label, std::size_t& metrics_row,
                             std::string& org_id) {
  switch (http::parse_target(request)) {
    case http::TargetError::bad_path:
      throw errors::ApiError::bad_request(
          {.field = "path", .rule = errors::Rule::invalid, .reason = "malformed percent-encoding in the path",
           .source = errors::Source::path},
          "Invalid request target.");
    case http::TargetError::bad_query:
      throw errors::ApiError::bad_request(
          {.field = "query", .rule = errors::Rule::invalid, .reason = "malformed percent-encoding in the query string",
           .source = errors::Source::query},
          "Invalid request target.");
    case http::TargetError::none:
      break;
  }

  auto match = router_.match(request.method, request.path);
  if (match.outcome == http::Router<RouteSpec>::Outcome::not_found) throw errors::ApiError::not_found();
  if (match.outcome == http::Router<RouteSpec>::Outcome::method_not_allowed) {
    throw errors::ApiError::method_not_allowed(std::move(match.allowed_methods));
  }
  const auto& route = *match.route;
  route_label = route.path_template.c_str();
  metrics_row = route.handler.metrics_row;

  RequestContext context(request, std::move(match.params), services_);
  if (route.handler.authenticated) {
    auto principal = services_.authenticator.authenticate(request.header("authorization"), util::now_ms());
    org_id = principal.org.str();
    context.set_principal(std::move(principal));
  }
  return route.handler.handler(context);
}

http::Response App::handle(http::Request& request) {
  const auto started = std::chrono::steady_clock::now();
  const char* route_label = "unmatched";
  std::size_t metrics_row = 0;
  std::string org_id;
  http::Response response;
  try {
    response = dispatch(request, route_label, metrics_row, org_id);
  } catch (const errors::ApiError& e) {
    response = render_error(e, request.trace_id);
  } catch (const store::UnavailableError& e) {
    observability::log_event(observability::Level::error, "storage unavailable", request.trace_id, e.what());
    response = render_error(errors::ApiError::unavailable("The database is unavailable; retry later."), request.trace_id);
  } catch (const store::ConflictError& e) {
    response = render_error(errors::ApiError::conflict("The request conflicts with the current state of the resource."),
                            request.trace_id);
  } catch (const std::exception& e) {
    // The cause goes to the log only: a 500 body never shows internals.
    observability::log_event(observability::Level::error, "internal error", request.trace_id, e.what());
    response = render_error(errors::ApiError::internal(), request.trace_id);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  finish(request, response, route_label, metrics_row, org_id, seconds);
  return response;
}

http::Response App::transport_error(const errors::ApiError& error, const http::Request& partial) {
  auto response = render_error(error, partial.trace_id);
  response.close_connection = true;
  finish(partial, response, "unmatched", 0, {}, 0.0);
  return response;
}

void App::finish(const http::Request& request, http::Response& response, std::string_view route_label,
                 std::size_t metrics_row, std::string_view org_id, double seconds) {
  response.headers.emplace_back("X-Kong-Request-Id", std::to_string(request.trace_id));
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Cache-Control", "no-store");
  if (metrics_) metrics_->record(metrics_row, response.status, seconds);
  observability::log_access({.method = request.method,
                             .route = route_label,
                             .status = response.status,
                             .duration_ms = seconds * 1000.0,
                             .bytes_in = request.body.size(),
                             .bytes_out = response.body.size(),
                             .trace_id = request.trace_id,
                             .organization_id = org_id,
                             .remote_address = request.remote_address});
}

}  // namespace ok::api
