#include "ratelimit/redis_limiter.hpp"

#include "crypto/pem.hpp"
#include "observability/log.hpp"

#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <ctime>
#include <stdexcept>

namespace ok::ratelimit {
namespace {

// KEYS: the budgets' keys. ARGV[1]: 'consume' or 'peek' (one key), or 'all' (Limiter::check_all:
// every key spent if all allow it, else only the refusing ones closed). ARGV[2]: the time in
// microseconds ('' for Redis's). Then, per key, its window and interval (window / quota) in
// microseconds. Returns allowed, remaining, reset_seconds, retry_after_seconds per key, in one
// list. A key's state is "TAT BLOCKED_UNTIL", as GcraLimiter's; Lua numbers are doubles, exact
// for microseconds since 1970. States expire on Redis's clock: with the caller's (tests), they
// are kept a minute at least, lest one vanish while the caller's readings still need it.
constexpr const char* kRedisGcraScript = R"lua(
if redis.replicate_commands then redis.replicate_commands() end
local mode = ARGV[1]
local given = tonumber(ARGV[2])
local now = given
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function whole_seconds(us)
  if us <= 0 then return 0 end
  return math.floor((us + 999999) / 1000000)
end
local tats, blockeds = {}, {}
for i = 1, #KEYS do
  tats[i], blockeds[i] = now, now
  local state = redis.call('GET', KEYS[i])
  if state then
    local space = string.find(state, ' ', 1, true)
    tats[i], blockeds[i] = tonumber(string.sub(state, 1, space - 1)), tonumber(string.sub(state, space + 1))
  end
end
-- Kept until neither time lies ahead: after that the key behaves as a fresh one.
local function save(i, tat, blocked)
  local ms = math.ceil((math.max(tat, blocked) - now) / 1000)
  if given then ms = math.max(ms, 60000) end
  redis.call('SET', KEYS[i], string.format('%.0f %.0f', tat, blocked), 'PX', ms)
end
local function check(i, spend)
  local window, interval = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local tat, blocked = tats[i], blockeds[i]
  if now < blocked then
    return {0, 0, whole_seconds(math.max(tat, now) - now), math.max(1, whole_seconds(blocked - now))}
  end
  local new_tat = math.max(tat, now) + interval
  local allow_at = new_tat - window
  if now < allow_at then
    local wait = math.max(1, whole_seconds(allow_at - now))
    if spend then save(i, tat, now + wait * 1000000) end
    return {0, 0, whole_seconds(math.max(tat, now) - now), wait}
  end
  if spend then save(i, new_tat, blocked) end
  local used = (spend and new_tat or math.max(tat, now)) - now
  return {1, math.floor((window - used) / interval), whole_seconds(used), 0}
end
local decisions = {}
if mode ~= 'all' then
  decisions[1] = check(1, mode == 'consume')
else
  local refused = false
  for i = 1, #KEYS do
    decisions[i] = check(i, false)
    if decisions[i][1] == 0 then refused = true end
  end
  for i = 1, #KEYS do
    if not refused or decisions[i][1] == 0 then decisions[i] = check(i, true) end
  end
end
local out = {}
for i = 1, #decisions do
  for j = 1, 4 do out[#out + 1] = decisions[i][j] end
end
return out
)lua";

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// hiredis writes with write(2), and a write to a connection Redis has closed raises SIGPIPE,
// which would end the process. The signal is blocked on this thread while a guard lives, and
// one raised meanwhile is taken off the queue before it is unblocked.
class RedisSigpipeGuard {
 public:
  RedisSigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~RedisSigpipeGuard() {
    sigset_t pending;
    if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec no_wait{0, 0};
      while (sigtimedwait(&pipe_, nullptr, &no_wait) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  RedisSigpipeGuard(const RedisSigpipeGuard&) = delete;
  RedisSigpipeGuard& operator=(const RedisSigpipeGuard&) = delete;

 private:
  sigset_t pipe_;
  sigset_t old_;
  bool was_pending_ = false;
};

// One command, its arguments binary-safe. Null when the connection failed (it is then unusable).
RedisReplyPtr redis_command(redisContext* context, const std::vector<std::string_view>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  return RedisReplyPtr(
      static_cast<redisReply*>(redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data())));
}

std::string redis_failure(const redisContext* context, std::chrono::milliseconds timeout) {
  if (context->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    return fmt::format("no answer within {} ms", timeout.count());
  }
  return context->errstr[0] ? context->errstr : "connection failed";
}

std::chrono::microseconds::rep redis_micros(std::chrono::nanoseconds d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

}  // namespace

void RedisLimiter::ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

RedisLimiter::RedisLimiter(Options options) : options_(std::move(options)) {
  // Said without the URL: it may hold a password.
  const std::string_view expected = "expected redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]";
  const auto parsed = boost::urls::parse_uri(options_.url);
  if (!parsed || parsed->scheme() != "redis" || parsed->host_address().empty() || parsed->has_query() ||
      parsed->has_fragment()) {
    throw std::invalid_argument(fmt::format("--redis-url: {}", expected));
  }
  endpoint_.host = parsed->host_address();
  if (parsed->has_port()) {
    if (parsed->port_number() == 0) throw std::invalid_argument(fmt::format("--redis-url: bad port; {}", expected));
    endpoint_.port = parsed->port_number();
  }
  if (parsed->has_password()) {
    endpoint_.user = parsed->user();
    endpoint_.password = parsed->password();
  } else if (parsed->has_userinfo()) {
    endpoint_.password = parsed->user();  // redis://SECRET@HOST: a Redis without users (before 6.0)
  }
  const std::string_view path = parsed->encoded_path();
  if (path.size() > 1) {
    const auto digits = path.substr(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), endpoint_.db);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      throw std::invalid_argument(fmt::format("--redis-url: the path is a database number; {}", expected));
    }
  }
  const bool ipv6 = endpoint_.host.find(':') != std::string::npos;
  address_ = fmt::format("redis://{}{}{}:{}/{}", ipv6 ? "[" : "", endpoint_.host, ipv6 ? "]" : "", endpoint_.port,
                         endpoint_.db);
  script_sha1_ = crypto::sha1_hex(kRedisGcraScript);

  // Loading the script is the first check that Redis answers, accepts our credentials and
  // runs Lua; it also spares the first requests a NOSCRIPT.
  std::string error;
  {
    RedisSigpipeGuard guard;
    if (auto connection = connect(error)) {
      auto reply = redis_command(connection.get(), {"SCRIPT", "LOAD", kRedisGcraScript});
      if (!reply) {
        error = redis_failure(connection.get(), options_.timeout);
      } else if (reply->type == REDIS_REPLY_ERROR) {
        error = reply->str;
      } else {
        give_back(std::move(connection));
      }
    }
  }
  if (error.empty()) {
    observability::log_event(observability::Level::info, fmt::format("rate limits shared through {}", address_));
  } else {
    went_down(error);
  }
}

RedisLimiter::~RedisLimiter() = default;

RedisLimiter::Connection RedisLimiter::connect(std::string& error) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(options_.timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(options_.timeout.count() % 1000 * 1000);
  Connection connection(redisConnectWithTimeout(endpoint_.host.c_str(), endpoint_.port, tv));
  if (!connection) {
    error = "out of memory";
    return nullptr;
  }
  if (connection->err) {
    error = redis_failure(connection.get(), options_.timeout);
    return nullptr;
  }
  redisSetTimeout(connection.get(), tv);
  auto expect_ok = [&](std::initializer_list<std::string_view> args, std::string_view what) {
    auto reply = redis_command(connection.get(), args);
    if (!reply) {
      error = redis_failure(connection.get(), options_.timeout);
    } else if (reply->type == REDIS_REPLY_ERROR) {
      // Redis's own words: they name what is wrong and never repeat the password.
      error = fmt::format("{}: {}", what, reply->str);
    }
    return error.empty();
  };
  if (!endpoint_.password.empty()) {
    const bool authenticated = endpoint_.user.empty() ? expect_ok({"AUTH", endpoint_.password}, "AUTH")
                                                      : expect_ok({"AUTH", endpoint_.user, endpoint_.password}, "AUTH");
    if (!authenticated) return nullptr;
  }
  if (endpoint_.db != 0 && !expect_ok({"SELECT", std::to_string(endpoint_.db)}, "SELECT")) return nullptr;
  return connection;
}

RedisLimiter::Connection RedisLimiter::take_connection(std::string& error) {
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return connection;
    }
  }
  return connect(error);
}

void RedisLimiter::give_back(Connection connection) {
  std::lock_guard lock(idle_mutex_);
  idle_.push_back(std::move(connection));
}

std::optional<std::vector<Decision>> RedisLimiter::remote_check(const std::vector<Budget>& budgets,
                                                                std::string_view mode, Clock::time_point now,
                                                                std::string& error) {
  RedisSigpipeGuard guard;
  auto connection = take_connection(error);
  if (!connection) return std::nullopt;

  std::vector<std::string> keys;
  std::vector<std::string> numbers;  // each key's window and interval
  for (const auto& budget : budgets) {
    const auto& policy = *budget.policy;
    keys.push_back(fmt::format("okrl:{}:{}", policy.name, crypto::sha256_hex(budget.key).substr(0, 32)));
    const auto window = redis_micros(policy.window);
    numbers.push_back(std::to_string(window));
    numbers.push_back(std::to_string(std::max<std::int64_t>(1, window / static_cast<std::int64_t>(policy.quota))));
  }
  const std::string key_count = std::to_string(keys.size());
  const std::string now_arg = options_.caller_clock ? std::to_string(redis_micros(now.time_since_epoch())) : "";
  std::vector<std::string_view> args = {"EVALSHA", script_sha1_, key_count};
  args.insert(args.end(), keys.begin(), keys.end());
  args.push_back(mode);
  args.push_back(now_arg);
  args.insert(args.end(), numbers.begin(), numbers.end());

  auto reply = redis_command(connection.get(), args);
  if (reply && reply->type == REDIS_REPLY_ERROR && std::string_view(reply->str).starts_with("NOSCRIPT")) {
    // Redis restarted or its script cache was flushed: EVAL runs the script and caches it again.
    args[0] = "EVAL";
    args[1] = kRedisGcraScript;
    reply = redis_command(connection.get(), args);
  }
  if (!reply) {
    error = redis_failure(connection.get(), options_.timeout);
    return std::nullopt;  // the connection is dropped: a late answer would be read as the next one's
  }
  const auto fields = 4 * budgets.size();
  if (reply->type == REDIS_REPLY_ERROR) {
    error = reply->str;
  } else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != fields ||
             std::any_of(reply->element, reply->element + fields,
                         [](const redisReply* r) { return r->type != REDIS_REPLY_INTEGER || r->integer < 0; })) {
    error = "unexpected answer to the rate-limit script";
  }
  give_back(std::move(connection));
  if (!error.empty()) return std::nullopt;
  const auto at = [&](std::size_t i) { return static_cast<std::uint64_t>(reply->element[i]->integer); };
  std::vector<Decision> decisions;
  for (std::size_t i = 0; i < fields; i += 4) {
    decisions.push_back(
        {.allowed = at(i) == 1, .remaining = at(i + 1), .reset_seconds = at(i + 2), .retry_after_seconds = at(i + 3)});
  }
  return decisions;
}

Decision RedisLimiter::check(std::string_view key, const Policy& policy, Clock::time_point now, Mode mode) {
  if (!policy.enabled()) return local_.check(key, policy, now, mode);  // nothing to share: allowed, no state
  if (up_.load(std::memory_order_acquire) || claim_retry()) {
    std::string error;
    const std::vector<Budget> one = {{&policy, std::string(key)}};
    if (auto decisions = remote_check(one, mode == Mode::consume ? "consume" : "peek", now, error)) {
      came_back();
      return decisions->front();
    }
    went_down(error);
  }
  local_checks_.fetch_add(1, std::memory_order_relaxed);
  return local_.check(key, policy, now, mode);
}

std::vector<Decision> RedisLimiter::check_all(const std::vector<Budget>& budgets, Clock::time_point now) {
  const bool all_enabled =
      std::all_of(budgets.begin(), budgets.end(), [](const Budget& b) { return b.policy->enabled(); });
  if (budgets.empty() || !all_enabled) return Limiter::check_all(budgets, now);  // one check at a time
  if (up_.load(std::memory_order_acquire) || claim_retry()) {
    std::string error;
    if (auto decisions = remote_check(budgets, "all", now, error)) {
      came_back();
      return std::move(*decisions);
    }
    went_down(error);
  }
  local_checks_.fetch_add(budgets.size(), std::memory_order_relaxed);
  return local_.check_all(budgets, now);
}

bool RedisLimiter::claim_retry() {
  // While Redis is down, one request a second tries it again; the others stay local rather
  // than each paying a connection attempt.
  const auto t = std::chrono::steady_clock::now().time_since_epoch().count();
  auto at = retry_at_ns_.load(std::memory_order_relaxed);
  if (t < at) return false;
  const auto next = t + std::chrono::nanoseconds(options_.retry_interval).count();
  return retry_at_ns_.compare_exchange_strong(at, next, std::memory_order_relaxed);
}

void RedisLimiter::went_down(const std::string& error) {
  retry_at_ns_.store(std::chrono::steady_clock::now().time_since_epoch().count() +
                         std::chrono::nanoseconds(options_.retry_interval).count(),
                     std::memory_order_relaxed);
  // The other idle connections lead to the same Redis: after a restart each would fail once.
  std::vector<Connection> stale;
  {
    std::lock_guard lock(idle_mutex_);
    stale.swap(idle_);
  }
  if (!up_.exchange(false, std::memory_order_acq_rel)) return;
  fallbacks_.fetch_add(1, std::memory_order_relaxed);
  observability::log_event(
      observability::Level::warn,
      fmt::format("Redis at {} unavailable: rate limits are local to this node until it answers again", address_), 0,
      error);
}

void RedisLimiter::came_back() {
  if (up_.load(std::memory_order_relaxed) || up_.exchange(true, std::memory_order_acq_rel)) return;
  observability::log_event(observability::Level::info, fmt::format("rate limits shared again through {}", address_));
}

std::string RedisLimiter::render_metrics() const {
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, std::uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("openkonnect_rate_limit_redis_up", "gauge",
         "1 while rate limits are shared through Redis, 0 while this node limits alone.", shared() ? 1 : 0);
  metric("openkonnect_rate_limit_redis_fallbacks_total", "counter",
         "Times Redis became unavailable and this node fell back to local rate limits.", fallbacks());
  metric("openkonnect_rate_limit_local_checks_total", "counter",
         "Rate-limit checks this node answered alone because Redis was unavailable.", local_checks());
  return out;
}

}  // namespace ok::ratelimit
