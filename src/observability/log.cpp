#include "observability/log.hpp"

#include "util/utf8.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <fmt/format.h>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <iterator>
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

namespace {
// The access line is written by hand, with no JSON library in between: it is made once per
// request, on the I/O thread. Its strings are a method, a route template, an organization id
// and a client address; escaping quotes, backslashes and control characters is all JSON asks.
using util::append_json_string;  // a header or path may carry any byte: the line stays JSON

// "YYYY-MM-DDTHH:MM:SS.mmmZ": the part up to the seconds is formatted once a second per thread.
void append_now_rfc3339(std::string& out) {
  using namespace std::chrono;
  thread_local std::int64_t cached_second = -1;
  thread_local char prefix[32];
  thread_local std::size_t prefix_length = 0;
  const auto now = system_clock::now();
  const auto secs = time_point_cast<seconds>(now);
  if (secs.time_since_epoch().count() != cached_second) {
    cached_second = secs.time_since_epoch().count();
    const std::time_t t = system_clock::to_time_t(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    prefix_length = fmt::format_to_n(prefix, sizeof prefix, "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", tm.tm_year + 1900,
                                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec)
                        .size;
  }
  out.append(prefix, prefix_length);
  fmt::format_to(std::back_inserter(out), "{:03}Z", duration_cast<milliseconds>(now - secs).count());
}

std::string now_rfc3339() {
  std::string out;
  append_now_rfc3339(out);
  return out;
}
}  // namespace

void log_access(const AccessRecord& r) {
  if (!g_access_enabled.load(std::memory_order_relaxed)) return;
  thread_local std::string line;
  line.clear();
  line += R"({"time":")";
  append_now_rfc3339(line);
  line += R"(","type":"access","method":)";
  append_json_string(line, r.method);
  line += R"(,"route":)";
  append_json_string(line, r.route);
  // Plain decimals: log tools read exponent forms badly.
  fmt::format_to(std::back_inserter(line),
                 R"(,"status":{},"duration_ms":{:.3f},"bytes_in":{},"bytes_out":{},)"
                 R"("trace_id":"{}")",
                 r.status, r.duration_ms, r.bytes_in, r.bytes_out, r.trace_id);
  if (!r.organization_id.empty()) {
    line += R"(,"organization_id":)";
    append_json_string(line, r.organization_id);
  }
  if (!r.remote_address.empty()) {
    line += R"(,"remote_address":)";
    append_json_string(line, r.remote_address);
  }
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
