#include "api/app.hpp"

#include "audit/entry.hpp"
#include "console/static_files.hpp"
#include "errors/problem.hpp"
#include "http/target.hpp"
#include "observability/log.hpp"
#include "store/errors.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>

#include <chrono>
#include <future>

namespace ok::api {

App::App(store::Store& store, auth::Authenticator& authenticator, auth::Generations& generations,
         ratelimit::Limiter& limiter, Settings settings)
    : settings_(std::move(settings)),
      caches_(generations, settings_),
      services_{store, authenticator, limiter, settings_, caches_},
      generations_(generations) {}

namespace {

void add_policy(std::string& policy_header, std::string& state_header, const ratelimit::Policy& policy,
                const ratelimit::Decision& d) {
  if (!policy_header.empty()) policy_header += ", ";
  policy_header += fmt::format("\"{}\";q={};w={}", policy.name, policy.quota, policy.window.count());
  if (!state_header.empty()) state_header += ", ";
  state_header += fmt::format("\"{}\";r={};t={}", policy.name, d.remaining, d.reset_seconds);
}

}  // namespace

void App::rate_limit(const auth::Principal& principal, Outcome& outcome) {
  const auto& limits = settings_.rate_limits;
  std::vector<ratelimit::Budget> budgets;
  if (limits.token.enabled()) budgets.push_back({&limits.token, "token:" + principal.token_id});
  if (limits.organization.enabled()) budgets.push_back({&limits.organization, "organization:" + principal.org.str()});
  if (budgets.empty()) return;
  // All or nothing: a request refused by one budget spends none of the other.
  const auto decisions = services_.limiter.check_all(budgets, ratelimit::Clock::now());
  std::uint64_t retry_after = 0;
  for (std::size_t i = 0; i < budgets.size(); ++i) {
    if (!decisions[i].allowed) retry_after = std::max(retry_after, decisions[i].retry_after_seconds);
    outcome.rate.emplace_back(budgets[i].policy, decisions[i]);
  }
  if (retry_after > 0) throw errors::ApiError::too_many_requests(retry_after);
}

void App::rate_limit_failure(const http::Request& request, Outcome& outcome) {
  const auto& policy = settings_.rate_limits.auth_failures;
  if (!policy.enabled()) return;
  const auto d = services_.limiter.check("auth-failures:" + request.remote_address, policy, ratelimit::Clock::now(),
                                         ratelimit::Mode::consume);
  outcome.rate.emplace_back(&policy, d);
  if (!d.allowed) throw errors::ApiError::too_many_requests(d.retry_after_seconds);
}

void App::add_route(std::string method, std::string path_template, RouteSpec spec) {
  spec.metrics_row = router_.routes().size() + 1;  // row 0 counts unmatched requests
  router_.add(std::move(method), std::move(path_template), std::move(spec));
}

void App::route(std::string method, std::string path_template, Handler handler, bool authenticated) {
  const bool item = path_template.ends_with("}") || path_template.ends_with("/me") || path_template == "/healthz" ||
                    path_template == "/v3/roles" || path_template.ends_with("/group-member-status") ||
                    path_template.ends_with("/group-status");
  RouteSpec spec{.handler = std::move(handler), .authenticated = authenticated, .quick = method == "GET" && item};
  add_route(std::move(method), std::move(path_template), std::move(spec));
}

void App::deferred_route(std::string method, std::string path_template, DeferredHandler handler) {
  add_route(std::move(method), std::move(path_template), RouteSpec{.deferred = std::move(handler)});
}

void App::cached_route(std::string method, std::string path_template, Handler handler, CachedAnswer cached) {
  add_route(std::move(method), std::move(path_template),
            RouteSpec{.handler = std::move(handler), .cached = std::move(cached)});
}

void App::finalize() {
  std::vector<std::string> labels{"unmatched"};
  for (const auto& r : router_.routes()) labels.push_back(r->method + " " + r->path_template);
  console_metrics_row_ = labels.size();  // last: the web console's answers (no row shows before one)
  labels.emplace_back("console");
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

std::unique_ptr<App::Pending> App::admit(http::Request& request, Outcome& outcome, http::Response& early) {
  switch (http::parse_target(request)) {
    case http::TargetError::bad_path:
      throw errors::ApiError::bad_request({.field = "path",
                                           .rule = errors::Rule::invalid,
                                           .reason = "malformed percent-encoding in the path",
                                           .source = errors::Source::path},
                                          "Invalid request target.");
    case http::TargetError::bad_query:
      throw errors::ApiError::bad_request({.field = "query",
                                           .rule = errors::Rule::invalid,
                                           .reason = "malformed percent-encoding in the query string",
                                           .source = errors::Source::query},
                                          "Invalid request target.");
    case http::TargetError::none:
      break;
  }

  auto match = router_.match(request.method, request.path);
  if (match.outcome == http::Router<RouteSpec>::Outcome::not_found) {
    if (console_) {
      if (auto answer = console_->answer(request)) {
        outcome.route_label = "console";
        outcome.metrics_row = console_metrics_row_;
        outcome.console = true;
        early = std::move(*answer);
        return nullptr;
      }
    }
    throw errors::ApiError::not_found();
  }
  if (match.outcome == http::Router<RouteSpec>::Outcome::method_not_allowed) {
    throw errors::ApiError::method_not_allowed(std::move(match.allowed_methods));
  }
  const auto& route = *match.route;
  outcome.route_label = route.path_template.c_str();
  outcome.metrics_row = route.handler.metrics_row;
  if (!match.params.empty()) outcome.item_id = match.params.back().second;

  auto pending =
      std::make_unique<Pending>(Pending{&route.handler, RequestContext(request, std::move(match.params), services_)});
  if (route.handler.authenticated) {
    outcome.audited = settings_.audit;
    auth::Principal principal;
    auth::AuthFailure why;
    if (const auto* failure =
            services_.authenticator.check(request.header("authorization"), util::now_ms(), principal, &why)) {
      outcome.org_id = why.org_id;
      if (outcome.audited) outcome.auth_failure = std::move(why);
      rate_limit_failure(request, outcome);  // may turn the 401 into a 429
      early = render_error(*failure, request.trace_id);
      return nullptr;
    }
    outcome.org_id = principal.org.str();
    if (outcome.audited) outcome.principal = principal;
    rate_limit(principal, outcome);
    pending->context.set_principal(std::move(principal));
    // A change's record is begun before it runs: should the process die between its commit
    // and its answer, the change still has a record (status 0; docs/AUDIT.md).
    if (outcome.audited && journal_ && request.method != "GET" && request.method != "HEAD") {
      const auto e = entry_of(request, outcome, 0);
      try {
        outcome.intent = journal_->begin(e.org_id, e.ts_ms, e);
      } catch (const std::exception& error) {
        observability::log_event(observability::Level::error, "audit record not begun; change refused",
                                 request.trace_id, error.what());
        throw errors::ApiError::unavailable("The audit log could not be written; retry later.");
      }
    }
  }
  return pending;
}

void App::after_handler(RequestContext& context, const http::Response* response, Outcome& outcome) {
  for (auto& d : context.rate_decisions()) outcome.rate.push_back(d);
  context.rate_decisions().clear();
  // A successful write invalidates the organization's cached credentials and permissions
  // before anyone hears of it (see auth/generations.hpp).
  const auto& method = context.request().method;
  if (response && method != "GET" && method != "HEAD" && response->status < 300 && context.authenticated()) {
    generations_.bump(context.org().str());
  }
}

http::Response App::run(Pending& pending, Outcome& outcome) {
  auto& context = pending.context;
  http::Response response;
  try {
    response = pending.route->handler(context);
  } catch (...) {
    after_handler(context, nullptr, outcome);
    throw;
  }
  after_handler(context, &response, outcome);
  return response;
}

template <typename Stage>
http::Response App::guarded(const http::Request& request, Stage&& stage) {
  try {
    return stage();
  } catch (const errors::ApiError& e) {
    return render_error(e, request.trace_id);
  } catch (const store::UnavailableError& e) {
    observability::log_event(observability::Level::error, "storage unavailable", request.trace_id, e.what());
    return render_error(errors::ApiError::unavailable("The database is unavailable; retry later."), request.trace_id);
  } catch (const store::ConflictError&) {
    return render_error(errors::ApiError::conflict("The request conflicts with the current state of the resource."),
                        request.trace_id);
  } catch (const std::exception& e) {
    // The cause goes to the log only: a 500 body never shows internals.
    observability::log_event(observability::Level::error, "internal error", request.trace_id, e.what());
    return render_error(errors::ApiError::internal(), request.trace_id);
  }
}

std::unique_ptr<http::Exchange> App::begin(http::Request& request) {
  auto begun = std::make_unique<Begun>(begin_request(request));
  begun->next = begun->deferred  ? http::Exchange::Next::deferred_write
                : begun->pending ? http::Exchange::Next::work
                                 : http::Exchange::Next::respond;
  return begun;
}

App::Begun App::begin_request(http::Request& request) {
  Begun begun;
  begun.started = std::chrono::steady_clock::now();
  begun.response = guarded(request, [&] {
    http::Response early;
    begun.pending = admit(request, begun.outcome, early);
    return early;
  });
  if (begun.pending && begun.pending->route->deferred) {
    // Checked and prepared here; the write itself is started by the server.
    begun.response = guarded(request, [&] {
      try {
        begun.deferred = std::make_unique<DeferredWrite>(begun.pending->route->deferred(begun.pending->context));
      } catch (...) {
        after_handler(begun.pending->context, nullptr, begun.outcome);
        throw;
      }
      return http::Response{};
    });
    if (begun.deferred) return begun;
    begun.pending.reset();
  } else if (begun.pending && !begun.pending->route->quick) {
    if (!begun.pending->route->cached) return begun;  // the handler runs elsewhere
    bool answered = true;
    begun.response = guarded(request, [&] {
      auto answer = begun.pending->route->cached(begun.pending->context);
      if (!answer) {
        answered = false;
        return http::Response{};
      }
      return std::move(*answer);
    });
    if (!answered) return begun;  // not in memory: the handler runs elsewhere
    begun.pending.reset();
  } else if (begun.pending) {
    begun.response = guarded(request, [&] { return run(*begun.pending, begun.outcome); });
    begun.pending.reset();
  }
  conclude(request, begun);
  return begun;
}

http::Response App::complete(http::Exchange& exchange) {
  auto& begun = static_cast<Begun&>(exchange);
  const auto& request = begun.pending->context.request();
  begun.response = guarded(request, [&] { return run(*begun.pending, begun.outcome); });
  begun.pending.reset();
  conclude(request, begun);
  return std::move(begun.response);
}

void App::start_deferred(http::Exchange& exchange, http::WriteDone done) {
  auto& begun = static_cast<Begun&>(exchange);
  try {
    begun.deferred->start(done);
  } catch (...) {
    // Not even queued (out of memory): it ends here, like any failed write.
    done(std::current_exception());
  }
}

http::Response App::finish_deferred(http::Exchange& exchange, std::exception_ptr error) {
  auto& begun = static_cast<Begun&>(exchange);
  auto& context = begun.pending->context;
  const auto& request = context.request();
  bool succeeded = false;
  begun.response = guarded(request, [&] {
    auto response = begun.deferred->finish(error);
    succeeded = true;
    return response;
  });
  after_handler(context, succeeded ? &begun.response : nullptr, begun.outcome);
  begun.deferred.reset();
  begun.pending.reset();
  conclude(request, begun);
  return std::move(begun.response);
}

void App::conclude(const http::Request& request, Begun& begun) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begun.started).count();
  if (begun.outcome.audited && journal_) record(request, begun);
  finish(request, begun.response, begun.outcome, seconds);
}

namespace {

// The id a create answered with (the entity it made), from the top level of its body.
std::string created_id(const http::Response& response) {
  boost::system::error_code ec;
  const auto body = boost::json::parse(response.body, ec);
  if (ec || !body.is_object()) return {};
  const auto* id = body.as_object().if_contains("id");
  return id && id->is_string() ? std::string(id->as_string()) : std::string();
}

}  // namespace

audit::EntryView App::entry_of(const http::Request& request, const Outcome& outcome, unsigned status) const {
  audit::EntryView e;
  e.ts_ms = util::now_ms();
  e.client_ip = request.remote_address;
  if (auto ua = request.header("user-agent")) e.user_agent = *ua;
  e.method = request.method;
  e.path_template = outcome.route_label;
  e.path = request.path;
  if (const auto q = request.target.find('?'); q != std::string::npos) {
    e.query = std::string_view(request.target).substr(q + 1);
  }
  e.status = status;
  e.trace_id = request.trace_id;
  e.org_id = outcome.org_id;
  if (outcome.principal) {
    e.principal_id = outcome.principal->id;
    e.principal_kind = outcome.principal->is_user() ? "user" : "system_account";  // kind_name() is a temporary
    e.token_id = outcome.principal->token_id;
  } else if (outcome.auth_failure) {
    e.kind = audit::Entry::Kind::authentication;
    e.outcome = outcome.auth_failure->outcome;
    e.auth_type = outcome.auth_failure->type;
    e.principal_id = outcome.auth_failure->principal_id;
    e.principal_kind = outcome.auth_failure->principal_kind;
    e.token_id = outcome.auth_failure->token_id;
  }
  e.entity_id = outcome.item_id;
  return e;
}

void App::record(const http::Request& request, Begun& begun) {
  auto& outcome = begun.outcome;
  const auto& response = begun.response;
  auto e = entry_of(request, outcome, response.status);
  std::string created;
  if (request.method == "POST" && response.status == 201) {
    created = created_id(response);
    if (!created.empty()) e.entity_id = created;
  }
  try {
    if (outcome.intent) {
      journal_->complete(outcome.intent, e.org_id, e.ts_ms, e);
    } else {
      journal_->append(e.org_id, e.ts_ms, e);
    }
  } catch (const std::exception& error) {
    // What was done is logged with the trace id; the client hears the server could not finish
    // (a change it made may have been kept, and its record begun stands, with status 0).
    observability::log_event(observability::Level::error, "audit record not written; answer withheld", request.trace_id,
                             fmt::format("status {} replaced by 503: {}", response.status, error.what()));
    begun.response = render_error(errors::ApiError::unavailable("The audit log could not be written; retry later."),
                                  request.trace_id);
  }
}

http::Response App::handle(http::Request& request) {
  auto begun = begin_request(request);
  if (begun.deferred) {
    std::promise<std::exception_ptr> ended;
    start_deferred(begun, [&ended](std::exception_ptr error) { ended.set_value(error); });
    begun.response = finish_deferred(begun, ended.get_future().get());
  } else if (begun.pending) {
    begun.response = complete(begun);
  }
  return std::move(begun.response);
}

http::Response App::transport_error(const errors::ApiError& error, const http::Request& partial) {
  auto response = render_error(error, partial.trace_id);
  response.close_connection = true;
  finish(partial, response, Outcome{}, 0.0);
  return response;
}

void App::finish(const http::Request& request, http::Response& response, const Outcome& outcome, double seconds) {
  if (!outcome.rate.empty()) {
    std::string policies;
    std::string states;
    for (const auto& [policy, d] : outcome.rate) add_policy(policies, states, *policy, d);
    response.headers.emplace_back("RateLimit-Policy", std::move(policies));
    response.headers.emplace_back("RateLimit", std::move(states));
  }
  response.headers.emplace_back("X-Kong-Request-Id", std::to_string(request.trace_id));
  if (!outcome.console) {  // a console answer carries its own (console/static_files.hpp)
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    response.headers.emplace_back("Cache-Control", "no-store");
  }
  if (metrics_) metrics_->record(outcome.metrics_row, response.status, seconds);
  observability::log_access({.method = request.method,
                             .route = outcome.route_label,
                             .status = response.status,
                             .duration_ms = seconds * 1000.0,
                             .bytes_in = request.body.size(),
                             .bytes_out = response.body.size(),
                             .trace_id = request.trace_id,
                             .organization_id = outcome.org_id,
                             .remote_address = request.remote_address});
}

}  // namespace ok::api
