#include "api/audit/routes.hpp"

#include "api/audit/common.hpp"
#include "api/audit/destinations.hpp"
#include "audit/destinations.hpp"

#include "api/app.hpp"
#include "api/responses.hpp"
#include "audit/delivery.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/pem.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <array>

namespace ok::api::audit {

std::string format_time(std::int64_t ms) { return ms == 0 ? std::string(kNever) : util::format_rfc3339_ms(ms); }

void require_audit_admin(RequestContext& ctx) { ctx.authorize({auth::kAuditLogs, auth::Verb::update, ""}); }

std::string http_url_check(std::string_view value) {
  const auto parsed = boost::urls::parse_absolute_uri(value);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->host().empty()) {
    return "must be an http or https URL";
  }
  return {};
}

namespace {

namespace bj = boost::json;
using schema::Field;
using schema::Kind;

constexpr std::int64_t kReplayWindowMs = 7LL * 24 * 3600 * 1000;  // "within the last 7 days"
constexpr std::string_view kWebhook = "webhook";
constexpr std::string_view kReplayJob = "replay_job";

const schema::ObjectSchema& webhook_schema() {
  static const schema::ObjectSchema s{{
      Field{.name = "endpoint",
            .kind = Kind::string,
            .min_length = 1,
            .max_length = 2048,
            .check = http_url_check,
            .check_is_whole_value = true},
      Field{.name = "authorization", .kind = Kind::string, .min_length = 1, .max_length = 4096},
      Field{.name = "enabled", .kind = Kind::boolean},
      Field{.name = "log_format", .kind = Kind::enumeration, .choices = {"cef", "json", "cps"}},
      Field{.name = "skip_ssl_verification", .kind = Kind::boolean},
      // Audit Logs v3's pointer to a destination, whose receiver then replaces the webhook's
      // own; null removes it.
      Field{.name = "audit_log_destination_id", .kind = Kind::uuid, .nullable = true},
      Field{.name = "updated_at", .read_only = true},
  }};
  return s;
}

const schema::ObjectSchema& replay_job_schema() {
  static const schema::ObjectSchema s{{
      Field{.name = "start_at", .kind = Kind::date_time, .required = true},
      Field{.name = "end_at", .kind = Kind::date_time, .required = true},
      Field{.name = "status", .read_only = true},
      Field{.name = "updated_at", .read_only = true},
  }};
  return s;
}

// The stored webhook (authorization included), or the defaults of one never set.
bj::object stored_webhook(RequestContext& ctx) {
  if (auto json = ctx.store().audit().setting(ctx.org(), kWebhook)) return bj::parse(*json).as_object();
  return {
      {"endpoint", ""}, {"enabled", false}, {"log_format", "cef"}, {"skip_ssl_verification", false}, {"updated_at", 0}};
}

bj::object webhook_json(const bj::object& stored) {
  bj::object out{{"endpoint", stored.at("endpoint")},
                 {"enabled", stored.at("enabled")},
                 {"log_format", stored.at("log_format")},
                 {"skip_ssl_verification", stored.at("skip_ssl_verification")},
                 {"updated_at", format_time(stored.at("updated_at").to_number<std::int64_t>())}};
  if (const auto* id = stored.if_contains("audit_log_destination_id")) out["audit_log_destination_id"] = *id;
  return out;  // `authorization` is write-only
}

http::Response get_webhook(RequestContext& ctx) {
  require_audit_admin(ctx);
  return json_response(200, webhook_json(stored_webhook(ctx)));
}

http::Response update_webhook(RequestContext& ctx) {
  require_audit_admin(ctx);
  const auto body = ctx.validated_body(webhook_schema(), schema::Mode::update);
  auto webhook = stored_webhook(ctx);
  for (const auto& [key, value] : body) {
    if (value.is_null()) {
      webhook.erase(key);
    } else {
      webhook[key] = value;
    }
  }
  const auto* destination_id = webhook.if_contains("audit_log_destination_id");
  if (destination_id && body.contains("audit_log_destination_id")) {
    const auto destinations = ok::audit::stored_destinations(ctx.store().audit(), ctx.org());
    if (!ok::audit::find_destination(destinations.items, destination_id->as_string())) {
      throw errors::ApiError::bad_request(
          errors::InvalidParameter{.field = "audit_log_destination_id",
                                   .rule = errors::Rule::missing_reference,
                                   .reason = "names no audit log destination of this organization"},
          "Invalid request body.");
    }
  }
  if (webhook.at("enabled").as_bool() && webhook.at("endpoint").as_string().empty() && !destination_id) {
    errors::InvalidParameter p{.field = "enabled",
                               .rule = errors::Rule::dependent_fields,
                               .reason = "an enabled webhook needs an endpoint or a destination"};
    p.dependents = {"endpoint"};
    throw errors::ApiError::bad_request(std::move(p), "Invalid request body.");
  }
  webhook["updated_at"] = util::now_ms();
  ctx.store().audit().put_setting(ctx.org(), kWebhook, bj::serialize(webhook));
  return json_response(200, webhook_json(webhook));
}

// Delivery fills in the last attempt; until the first one, Konnect's zero values.
http::Response get_webhook_status(RequestContext& ctx) {
  require_audit_admin(ctx);
  const auto webhook = stored_webhook(ctx);
  const bool enabled = webhook.at("enabled").as_bool();
  const bool configured = !webhook.at("endpoint").as_string().empty() || webhook.contains("audit_log_destination_id");
  bj::object out{{"webhook_enabled", enabled},
                 {"webhook_status", !configured ? "unconfigured"
                                    : enabled   ? "active"
                                                : "inactive"},
                 {"last_attempt_at", std::string(kNever)},
                 {"last_response_code", 0},
                 {"last_response_message", ""}};
  // Before its first answer, delivery's state holds only the batch it is sending.
  const auto json = ctx.store().audit().setting(ctx.org(), "delivery");
  if (const auto delivery = json ? bj::parse(*json).as_object() : bj::object{}; delivery.contains("last_attempt_at")) {
    out["last_attempt_at"] = format_time(delivery.at("last_attempt_at").to_number<std::int64_t>());
    out["last_response_code"] = delivery.at("last_response_code");
    out["last_response_message"] = delivery.at("last_response_message");
    if (configured && enabled && delivery.at("failing").as_bool()) out["webhook_status"] = "inactive";
  }
  return json_response(200, out);
}

// Public: the keys only verify. Every key ever used is listed, so that entries signed before
// a rotation still verify.
http::Response get_jwks(RequestContext& ctx) {
  auto& audit = ctx.store().audit();
  audit.active_signing_key(ok::audit::make_signing_key);
  bj::array keys;
  for (const auto& k : audit.signing_keys()) {
    keys.push_back(
        bj::object{{"kty", "OKP"}, {"alg", "EdDSA"}, {"kid", k.kid}, {"crv", "Ed25519"}, {"x", k.public_raw}});
  }
  auto r = json_response(200, bj::object{{"keys", std::move(keys)}});
  r.headers.emplace_back("Cache-Control", "public, max-age=300");
  return r;
}

bj::object replay_job_json(const bj::object& job) {
  return {{"start_at", format_time(job.at("start_at").to_number<std::int64_t>())},
          {"end_at", format_time(job.at("end_at").to_number<std::int64_t>())},
          {"status", job.at("status")},
          {"updated_at", format_time(job.at("updated_at").to_number<std::int64_t>())}};
}

http::Response get_replay_job(RequestContext& ctx) {
  require_audit_admin(ctx);
  bj::object job{{"start_at", 0}, {"end_at", 0}, {"status", "unconfigured"}, {"updated_at", 0}};
  if (auto json = ctx.store().audit().setting(ctx.org(), kReplayJob)) job = bj::parse(*json).as_object();
  return json_response(200, replay_job_json(job));
}

bool is_running(const std::optional<std::string>& json) {
  if (!json) return false;
  const auto status = bj::parse(*json).at("status").as_string();
  return status == "pending" || status == "running";
}

http::Response replace_replay_job(RequestContext& ctx) {
  require_audit_admin(ctx);
  const auto body = ctx.validated_body(replay_job_schema(), schema::Mode::create);
  std::int64_t start = 0, end = 0;
  util::parse_rfc3339(body.at("start_at").as_string(), start);
  util::parse_rfc3339(body.at("end_at").as_string(), end);
  const auto now = util::now_ms();
  errors::InvalidParameters problems;
  if (start < now - kReplayWindowMs || start > now) {
    problems.push_back(
        {.field = "start_at", .rule = errors::Rule::invalid, .reason = "must be within the last 7 days"});
  }
  if (end < now - kReplayWindowMs || end > now) {
    problems.push_back({.field = "end_at", .rule = errors::Rule::invalid, .reason = "must be within the last 7 days"});
  } else if (end <= start) {
    problems.push_back({.field = "end_at", .rule = errors::Rule::invalid, .reason = "must be after start_at"});
  }
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems), "Invalid request body.");
  const bj::object job{{"start_at", start}, {"end_at", end}, {"status", "accepted"}, {"updated_at", now}};
  if (!ctx.store().audit().put_setting_if(ctx.org(), kReplayJob, bj::serialize(job),
                                          [](const auto& current) { return !is_running(current); })) {
    throw errors::ApiError::conflict("A replay job is currently running.");
  }
  return json_response(202, replay_job_json(job));
}

}  // namespace

void register_routes(App& app) {
  register_destination_routes(app);
  app.route("GET", "/v2/audit-log-webhook", get_webhook);
  app.route("PATCH", "/v2/audit-log-webhook", update_webhook);
  app.route("GET", "/v2/audit-log-webhook/status", get_webhook_status);
  app.route("GET", "/v2/audit-log-webhook/jwks.json", get_jwks, false);
  app.route("GET", "/v2/audit-log-replay-job", get_replay_job);
  app.route("PUT", "/v2/audit-log-replay-job", replace_replay_job);
}

}  // namespace ok::api::audit
