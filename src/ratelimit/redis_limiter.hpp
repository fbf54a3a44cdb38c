#pragma once
// Rate limits shared by several nodes: the GCRA state of every key lives in Redis, read,
// checked and written by one Lua script per check (per request: a request's token and
// organization budgets go in one), so two nodes spending from one budget cannot both take its
// last request. The arithmetic and the answers are GcraLimiter's (ratelimit/gcra_limiter.hpp),
// in microseconds, on Redis's clock: the nodes' steady clocks share no epoch, and their wall
// clocks may disagree by more than a request's interval.
//
// A budget's key is stored as okrl:POLICY:HASH: the policy's name in clear, the key hashed
// (SHA-256, 128 bits), since keys hold client addresses and token ids.
// Each key expires when its state stops mattering, so Redis holds only the budgets in use.
//
// Redis is a dependency the API must not fall over with. When a command fails or takes longer
// than 100 ms, this node answers from a GcraLimiter of its own (limits per node rather than
// per installation), says so once in the log and in the metrics, and tries Redis again at most
// once a second, from one request; when that works, the budgets are shared again.

#include "ratelimit/gcra_limiter.hpp"
#include "ratelimit/limiter.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct redisContext;

namespace ok::ratelimit {

class RedisLimiter final : public Limiter {
 public:
  struct Options {
    std::string url;                                 // redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]
    std::chrono::milliseconds timeout{100};          // to connect, and for each command
    std::chrono::milliseconds retry_interval{1000};  // between attempts while Redis is down
    // Tests only: the script takes `now` from the caller instead of Redis's TIME, so that the
    // arithmetic can be driven with explicit readings as GcraLimiter's tests do. Meaningless
    // with several nodes, whose steady clocks share no epoch.
    bool caller_clock = false;
  };

  // Throws std::invalid_argument when the URL is not one (the message never repeats a
  // password). Redis being unreachable is not an error: the limiter starts local.
  explicit RedisLimiter(Options options);
  ~RedisLimiter() override;
  RedisLimiter(const RedisLimiter&) = delete;
  RedisLimiter& operator=(const RedisLimiter&) = delete;

  Decision check(std::string_view key, const Policy& policy, Clock::time_point now, Mode mode) override;
  // In one round trip, atomically: no other request spends between the look and the spend.
  std::vector<Decision> check_all(const std::vector<Budget>& budgets, Clock::time_point now) override;

  std::string address() const { return address_; }  // redis://HOST:PORT/DB, without credentials
  bool shared() const { return up_.load(std::memory_order_relaxed); }
  std::uint64_t fallbacks() const { return fallbacks_.load(std::memory_order_relaxed); }
  std::uint64_t local_checks() const { return local_checks_.load(std::memory_order_relaxed); }
  std::string render_metrics() const;  // Prometheus text, for Metrics::add_section

 private:
  struct Endpoint {
    std::string host;
    int port = 6379;
    std::string user;
    std::string password;
    unsigned db = 0;
  };
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };
  using Connection = std::unique_ptr<redisContext, ContextDeleter>;

  // `mode`: the script's ARGV[1]. Nullopt, with `error` set, when Redis did not answer.
  std::optional<std::vector<Decision>> remote_check(const std::vector<Budget>& budgets, std::string_view mode,
                                                    Clock::time_point now, std::string& error);
  Connection connect(std::string& error);
  Connection take_connection(std::string& error);
  void give_back(Connection connection);
  bool claim_retry();
  void went_down(const std::string& error);
  void came_back();

  Options options_;
  Endpoint endpoint_;
  std::string address_;
  std::string script_sha1_;

  // hiredis contexts are not thread-safe: a request takes one of these for the duration of a
  // check, or opens a new one, so there are as many as checks ever ran at once.
  std::mutex idle_mutex_;
  std::vector<Connection> idle_;

  GcraLimiter local_;
  std::atomic<bool> up_{true};
  std::atomic<std::int64_t> retry_at_ns_{0};  // steady clock: the next attempt while down
  std::atomic<std::uint64_t> fallbacks_{0};
  std::atomic<std::uint64_t> local_checks_{0};
};

}  // namespace ok::ratelimit
