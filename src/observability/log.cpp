#include "observability/log.hpp"

#include <boost/json/object.hpp>
#include <boost/json/string.hpp>
#include <boost/json/serialize.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <mutex>

namespace ok::observability {
namespace {

std::shared_ptr<spdlog::logger> g_access;
std::shared_ptr<spdlog::logger> g_events;
std::once_flag g_init_once;

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
    spdlog::init_thread_pool(16384, 1);
    auto out = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    auto err = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    g_access = std::make_shared<spdlog::async_logger>("access", out, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    g_events = std::make_shared<spdlog::async_logger>("events", err, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    for (auto& logger : {g_access, g_events}) {
      logger->set_pattern("%v");
      logger->flush_on(spdlog::level::info);
    }
  });
}

void flush_logging() {
  if (g_access) g_access->flush();
  if (g_events) g_events->flush();
}

void log_access(const AccessRecord& r) {
  if (!g_access) return;
  // Formatted by hand: boost::json writes doubles in exponent form, which log tools read
  // badly; every string is still escaped by the JSON serializer.
  auto quoted = [](std::string_view text) { return boost::json::serialize(boost::json::string(text)); };
  std::string line = fmt::format(
      R"({{"time":"{}","type":"access","method":{},"route":{},"status":{},"duration_ms":{:.3f},"bytes_in":{},)"
      R"("bytes_out":{},"trace_id":"{}")",
      now_rfc3339(), quoted(r.method), quoted(r.route), r.status, r.duration_ms, r.bytes_in, r.bytes_out, r.trace_id);
  if (!r.organization_id.empty()) line += fmt::format(R"(,"organization_id":{})", quoted(r.organization_id));
  if (!r.remote_address.empty()) line += fmt::format(R"(,"remote_address":{})", quoted(r.remote_address));
  line += '}';
  g_access->info(line);
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
