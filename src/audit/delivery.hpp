#pragma once
// Delivers each organization's audit records to its webhook, from the durable record table
// (the outbox): in batches, in the order they were committed, at least once. A per-
// organization cursor (the "delivery" audit setting, with what the status endpoint reports)
// moves past a batch only once the receiver answered 2xx, so a restart resumes where delivery
// stood; while the receiver fails, the same batch (same records, same X-Audit-Batch-Id) is
// retried with a growing pause. Replay jobs
// re-deliver a time window without moving the cursor, and records older than their
// organization's retention_period_days are purged. See docs/AUDIT.md.

#include "audit/webhook_client.hpp"
#include "store/store.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace ok::audit {

struct DeliveryOptions {
  std::chrono::milliseconds poll{200};         // how often new records are looked for
  std::size_t batch = 500;                     // records per POST
  std::chrono::milliseconds first_retry{500};  // the pause after a first failure, doubled each time
  std::chrono::milliseconds longest_retry{30'000};
  std::chrono::milliseconds timeout{10'000};  // per POST
  std::chrono::minutes purge_every{60};
  std::int64_t unowned_retention_days = 7;  // records of tokens no organization owns
};

// A new Ed25519 signing key (the installation's first, or a rotation's).
store::AuditSigningKey make_signing_key();

class Delivery {
 public:
  Delivery(store::Store& store, DeliveryOptions options);
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  void start();
  // Waits for a POST under way to end (at most its timeout).
  void stop();

  // One pass: every organization's due batches and replay job, and the purge when due.
  // Returns whether anything was sent (tests, and the loop to go again at once).
  bool run_once();

 private:
  struct Backoff {
    std::chrono::steady_clock::time_point next_try{};
    std::chrono::milliseconds pause{0};
  };
  std::optional<boost::json::object> receiver_of(const store::OrgId& org, const std::string& webhook_json);
  bool deliver(const store::OrgId& org, const std::string& webhook_json);
  bool replay(const store::OrgId& org, const std::string& webhook_json);
  // POSTs the records as one batch in the webhook's format; a failure lengthens `backoff`.
  WebhookAnswer send(const store::OrgId& org, const boost::json::object& webhook,
                     const std::vector<store::AuditRecord>& records, const std::string& batch_id, Backoff& backoff);
  // The "delivery" setting: the cursor, the batch being sent (`sending_to`, its last record;
  // 0: none), and what the status endpoint reports.
  void record_attempt(const store::OrgId& org, const WebhookAnswer& answer, std::int64_t cursor,
                      std::int64_t sending_to);
  void loop();

  store::Store& store_;
  DeliveryOptions options_;
  WebhookClient client_;
  std::map<std::string, Backoff> backoff_;         // per organization
  std::map<std::string, Backoff> replay_backoff_;  // per organization
  std::chrono::steady_clock::time_point next_purge_{};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ok::audit
