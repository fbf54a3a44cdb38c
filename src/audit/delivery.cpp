#include "audit/delivery.hpp"

#include "audit/destinations.hpp"
#include "audit/entry.hpp"
#include "cluster/payload.hpp"  // gzip
#include "crypto/ed25519.hpp"
#include "crypto/pem.hpp"
#include "observability/log.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace ok::audit {
namespace {

namespace bj = boost::json;
constexpr std::string_view kDelivery = "delivery";
constexpr std::string_view kReplayJob = "replay_job";

std::optional<bj::object> parse_object(const std::optional<std::string>& json) {
  if (!json) return std::nullopt;
  boost::system::error_code ec;
  auto v = bj::parse(*json, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::int64_t integer_of(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && (v->is_int64() || v->is_uint64()) ? v->to_number<std::int64_t>() : 0;
}

std::string string_of(const bj::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool enabled(const bj::object& webhook) {
  const auto* v = webhook.if_contains("enabled");
  return v && v->is_bool() && v->as_bool() && !string_of(webhook, "endpoint").empty();
}

}  // namespace

Delivery::Delivery(store::Store& store, DeliveryOptions options) : store_(store), options_(options) {}

Delivery::~Delivery() { stop(); }

void Delivery::start() {
  thread_ = std::thread([this] { loop(); });
}

void Delivery::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Delivery::loop() {
  while (true) {
    bool sent = false;
    try {
      sent = run_once();
    } catch (const std::exception& e) {
      // The database went away, most likely: the records wait in it, and the next pass retries.
      observability::log_event(observability::Level::warn, "audit delivery pass failed", 0, e.what());
    }
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    if (!sent) wake_.wait_for(lock, options_.poll, [this] { return stopping_; });
    if (stopping_) return;
  }
}

bool Delivery::run_once() {
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_purge_) {
    next_purge_ = now + options_.purge_every;
    const auto purged = store_.audit().purge_expired_records(util::now_ms(), options_.unowned_retention_days);
    if (purged > 0) {
      observability::log_event(observability::Level::info,
                               fmt::format("audit: {} blocks of expired records purged", purged));
    }
  }
  bool sent = false;
  for (const auto& [org, webhook_json] : store_.audit().settings_of_kind("webhook")) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    sent = deliver(org, webhook_json) || sent;
    sent = replay(org, webhook_json) || sent;
  }
  return sent;
}

// The webhook's receiver (its destination's, when it names one), when it is enabled.
std::optional<bj::object> Delivery::receiver_of(const store::OrgId& org, const std::string& webhook_json) {
  auto webhook = parse_object(webhook_json);
  if (!webhook) return std::nullopt;
  auto receiver = effective_receiver(store_.audit(), org, *webhook);
  if (!receiver || !enabled(*receiver)) return std::nullopt;
  return receiver;
}

bool Delivery::deliver(const store::OrgId& org, const std::string& webhook_json) {
  const auto webhook = receiver_of(org, webhook_json);
  if (!webhook) return false;
  auto& backoff = backoff_[org.str()];
  if (std::chrono::steady_clock::now() < backoff.next_try) return false;
  const auto state = parse_object(store_.audit().setting(org, kDelivery)).value_or(bj::object{});
  const auto cursor = integer_of(state, "cursor");
  auto records = store_.audit().records_after(org, cursor, options_.batch);
  if (records.empty()) return false;
  // A batch is sent again exactly as first sent (same records, same batch id) until the
  // receiver takes it, across restarts too: its last record is stored before the first
  // attempt. A receiver that answered but whose answer was lost to a crash recognizes the
  // batch id it already has (docs/AUDIT.md).
  if (const auto sending_to = integer_of(state, "sending_to"); sending_to > cursor) {
    std::erase_if(records, [&](const store::AuditRecord& r) { return r.seq > sending_to; });
  } else {
    auto marked = state;
    marked["sending_to"] = records.back().seq;
    marked["cursor"] = cursor;
    if (!store_.audit().put_setting_if(org, kDelivery, bj::serialize(marked), [&](const auto& current) {
          return integer_of(parse_object(current).value_or(bj::object{}), "cursor") == cursor;
        })) {
      return false;  // another node moved on meanwhile
    }
  }
  const auto batch_id = fmt::format("{}-{}", records.front().seq, records.back().seq);
  const auto answer = send(org, *webhook, records, batch_id, backoff);
  record_attempt(org, answer, answer.ok() ? records.back().seq : cursor, answer.ok() ? 0 : records.back().seq);
  return answer.ok();
}

void Delivery::record_attempt(const store::OrgId& org, const WebhookAnswer& answer, std::int64_t cursor,
                              std::int64_t sending_to) {
  bj::object state{{"cursor", cursor},
                   {"last_attempt_at", util::now_ms()},
                   {"last_response_code", answer.status},
                   {"last_response_message", answer.message},
                   {"failing", !answer.ok()}};
  if (sending_to > cursor) state["sending_to"] = sending_to;
  // Only delivery writes the cursor, and never backwards: should a second node deliver the
  // same organization, batches may go twice (at least once still holds), never be skipped.
  store_.audit().put_setting_if(org, kDelivery, bj::serialize(state), [&](const std::optional<std::string>& current) {
    return integer_of(parse_object(current).value_or(bj::object{}), "cursor") <= cursor;
  });
}

bool Delivery::replay(const store::OrgId& org, const std::string& webhook_json) {
  const auto job = parse_object(store_.audit().setting(org, kReplayJob));
  if (!job) return false;
  const auto status = string_of(*job, "status");
  if (status != "accepted" && status != "pending" && status != "running") return false;
  const auto webhook = receiver_of(org, webhook_json);
  if (!webhook) return false;  // it waits, accepted, for a receiver
  auto& backoff = replay_backoff_[org.str()];
  if (std::chrono::steady_clock::now() < backoff.next_try) return false;

  const auto records = store_.audit().records_between(org, integer_of(*job, "start_at"), integer_of(*job, "end_at"),
                                                      integer_of(*job, "after_seq"), options_.batch);
  bool sent = false;
  auto next = *job;
  next["updated_at"] = util::now_ms();
  next["status"] = records.empty() ? "completed" : "running";
  if (!records.empty()) {
    // Its own batch ids: a receiver deduplicating batches must not drop a replay.
    const auto batch_id = fmt::format("replay-{}-{}-{}-{}", integer_of(*job, "start_at"), integer_of(*job, "end_at"),
                                      records.front().seq, records.back().seq);
    const auto answer = send(org, *webhook, records, batch_id, backoff);
    const auto state = parse_object(store_.audit().setting(org, kDelivery)).value_or(bj::object{});
    record_attempt(org, answer, integer_of(state, "cursor"), integer_of(state, "sending_to"));
    if (answer.ok()) {
      sent = true;
      next["after_seq"] = records.back().seq;
    }
  }
  // Only while the job is the one read (a new PUT replaces a finished or accepted job).
  store_.audit().put_setting_if(org, kReplayJob, bj::serialize(next), [&](const std::optional<std::string>& current) {
    const auto now_job = parse_object(current);
    return now_job && integer_of(*now_job, "start_at") == integer_of(*job, "start_at") &&
           integer_of(*now_job, "end_at") == integer_of(*job, "end_at") &&
           integer_of(*now_job, "after_seq") == integer_of(*job, "after_seq") &&
           string_of(*now_job, "status") == status;
  });
  return sent;
}

store::AuditSigningKey make_signing_key() {
  const auto pair = crypto::generate_ed25519();
  return {.kid = crypto::sha1_hex(pair.public_raw),
          .private_pem = pair.private_pem,
          .public_raw = util::base64url_encode(pair.public_raw),
          .created_at = util::now_ms()};
}

WebhookAnswer Delivery::send(const store::OrgId& org, const bj::object& webhook,
                             const std::vector<store::AuditRecord>& records, const std::string& batch_id,
                             Backoff& backoff) {
  const auto format = parse_format(string_of(webhook, "log_format")).value_or(Format::cef);
  const auto key = store_.audit().active_signing_key(make_signing_key);
  const crypto::Ed25519Signer signer(key.private_pem);
  std::string lines;
  for (const auto& record : records) {
    try {
      lines += render_signed(decode(record.entry, record.org_id, record.ts_ms), format, signer);
      lines += '\n';
    } catch (const std::invalid_argument& e) {
      observability::log_event(observability::Level::error, fmt::format("audit record {} unreadable", record.seq), 0,
                               e.what());
    }
  }
  WebhookPost post{.endpoint = string_of(webhook, "endpoint"),
                   .body = cluster::gzip(lines, 1),
                   .headers = {{"Content-Type", "text/plain; charset=utf-8"},
                               {"Content-Encoding", "gzip"},
                               {"X-Audit-Key-Id", key.kid},
                               {"X-Audit-Batch-Id", batch_id}},
                   .skip_ssl_verification = webhook.if_contains("skip_ssl_verification") &&
                                            webhook.at("skip_ssl_verification").is_bool() &&
                                            webhook.at("skip_ssl_verification").as_bool(),
                   .timeout = options_.timeout};
  if (auto authorization = string_of(webhook, "authorization"); !authorization.empty()) {
    post.headers.emplace_back("Authorization", std::move(authorization));
  }
  auto answer = client_.post(post);

  if (answer.ok()) {
    backoff = Backoff{};
  } else {
    backoff.pause = std::clamp(backoff.pause * 2, options_.first_retry, options_.longest_retry);
    backoff.next_try = std::chrono::steady_clock::now() + backoff.pause;
    observability::log_event(observability::Level::warn,
                             fmt::format("audit delivery to organization {} failed ({} {}); retrying in {} ms",
                                         org.str(), answer.status, answer.message, backoff.pause.count()));
  }
  return answer;
}

}  // namespace ok::audit
