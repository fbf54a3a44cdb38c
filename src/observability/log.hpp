#pragma once
// Structured logging. The access log is one JSON object per line on stdout; everything else
// (start-up, shutdown, internal errors with their trace id) is one JSON object per line on
// stderr. Both go through spdlog's asynchronous queue so request threads never wait on I/O.

#include <cstdint>
#include <string>
#include <string_view>

namespace ok::observability {

struct AccessRecord {
  std::string_view method;
  std::string_view route;  // the path template, or the raw path's class for unmatched requests
  unsigned status = 0;
  double duration_ms = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::uint64_t trace_id = 0;
  std::string_view organization_id;  // empty when unknown
  std::string_view remote_address;
};

void init_logging();
void flush_logging();

void log_access(const AccessRecord& record);

enum class Level { info, warn, error };
// `message` must never contain secrets; `trace_id` 0 means "not tied to a request".
void log_event(Level level, std::string_view message, std::uint64_t trace_id = 0, std::string_view detail = {});

}  // namespace ok::observability
