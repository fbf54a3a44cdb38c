#include "observability/log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fmt/format.h>
#include <mutex>
#include <thread>

namespace ok::observability {
namespace {

// Events (start-up, shutdown, errors) are few: spdlog writes and flushes each line to stderr.
std::shared_ptr<spdlog::logger> g_events;
// The access log is one line per request: lines go into stdout's buffer (fwrite locks it, no
// system call, no thread wake-up per request) and a flusher empties it every 100 ms. A
// SIGKILL can lose at most those 100 ms of access-log lines, never an event line.
std::atomic<bool> g_access_enabled{false};
std::once_flag g_init_once;
constexpr std::chrono::milliseconds kAccessFlushInterval{100};

std::string now_rfc3339() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto secs = time_point_cast<seconds>(now);
  const auto ms = duration_cast<milliseconds>(now - secs).count();
  const std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace

void init_logging() {
  std::call_once(g_init_once, [] {
    g_events = std::make_shared<spdlog::logger>("events", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    g_events->set_pattern("%v");
    g_events->flush_on(spdlog::level::info);
    static char buffer[1 << 18];
    std::setvbuf(stdout, buffer, _IOFBF, sizeof buffer);
    std::thread([] {
      while (true) {
        std::this_thread::sleep_for(kAccessFlushInterval);
        std::fflush(stdout);
      }
    }).detach();
    g_access_enabled = true;
  });
}

void flush_logging() {
  std::fflush(stdout);
  if (g_events) g_events->flush();
}

void log_access(const AccessRecord& r) {
  if (!g_access_enabled.load(std::memory_order_relaxed)) return;
  // Formatted by hand: boost::json writes doubles in exponent form, which log tools read
  // badly; every string is still escaped by the JSON serializer.
  auto quoted = [](std::string_view text) { return boost::json::serialize(boost::json::string(text)); };
  std::string line = fmt::format(
      R"({{"time":"{}","type":"access","method":{},"route":{},"status":{},"duration_ms":{:.3f},"bytes_in":{},)"
      R"("bytes_out":{},"trace_id":"{}")",
      now_rfc3339(), quoted(r.method), quoted(r.route), r.status, r.duration_ms, r.bytes_in, r.bytes_out, r.trace_id);
  if (!r.organization_id.empty()) line += fmt::format(R"(,"organization_id":{})", quoted(r.organization_id));
  if (!r.remote_address.empty()) line += fmt::format(R"(,"remote_address":{})", quoted(r.remote_address));
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
}

void log_event(Level level, std::string_view message, std::uint64_t trace_id, std::string_view detail) {
  boost::json::object line;
  line["time"] = now_rfc3339();
  line["level"] = level == Level::info ? "info" : level == Level::warn ? "warn" : "error";
  line["message"] = message;
  if (trace_id != 0) line["trace_id"] = std::to_string(trace_id);
  if (!detail.empty()) line["detail"] = detail;
  const auto text = boost::json::serialize(line);
  if (g_events) {
    g_events->info(text);
  } else {
    std::fputs((text + "\n").c_str(), stderr);
  }
}

}  // namespace ok::observability
