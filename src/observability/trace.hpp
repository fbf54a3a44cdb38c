#pragma once
// Trace ids: a fresh random unsigned 64-bit id per request, shown to clients as
// `kong:trace:<id>` and X-Kong-Request-Id and written to the access log, so one id ties a
// client's error report to the server's log line.

#include <cstdint>

namespace ok::observability {

std::uint64_t next_trace_id();

}  // namespace ok::observability
