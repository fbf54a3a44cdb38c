#include "observability/metrics.hpp"

#include <fmt/format.h>

namespace ok::observability {

Metrics::Metrics(std::vector<std::string> route_labels)
    : labels_(std::move(route_labels)), rows_(std::make_unique<Row[]>(labels_.size())) {}

std::size_t Metrics::status_index(unsigned status) {
  for (std::size_t i = 0; i < kStatuses.size() - 2; ++i) {
    if (kStatuses[i] == status) return i;
  }
  // The last two slots collect statuses outside the table: other 2xx-4xx, and other 5xx.
  return status >= 500 ? kStatuses.size() - 1 : kStatuses.size() - 2;
}

void Metrics::record(std::size_t route_row, unsigned status, double seconds) {
  if (route_row >= labels_.size()) route_row = 0;
  Row& row = rows_[route_row];
  row.by_status[status_index(status)].fetch_add(1, std::memory_order_relaxed);
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  row.latency[bucket].fetch_add(1, std::memory_order_relaxed);
  row.latency_sum_us.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

std::string Metrics::render_prometheus() const {
  std::string out;
  out += "# HELP openkonnect_http_requests_total HTTP requests by route template and status.\n";
  out += "# TYPE openkonnect_http_requests_total counter\n";
  for (std::size_t r = 0; r < labels_.size(); ++r) {
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const auto n = rows_[r].by_status[s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      std::string status = kStatuses[s] != 0 ? std::to_string(kStatuses[s])
                           : s == kStatuses.size() - 1 ? "5xx_other" : "other";
      out += fmt::format("openkonnect_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", labels_[r], status, n);
    }
  }
  out += "# HELP openkonnect_http_request_duration_seconds Request latency by route template.\n";
  out += "# TYPE openkonnect_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < labels_.size(); ++r) {
    std::uint64_t cumulative = 0;
    const Row& row = rows_[r];
    std::uint64_t total = 0;
    for (const auto& b : row.latency) total += b.load(std::memory_order_relaxed);
    if (total == 0) continue;
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += row.latency[b].load(std::memory_order_relaxed);
      out += fmt::format("openkonnect_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                         labels_[r], kBuckets[b], cumulative);
    }
    out += fmt::format("openkonnect_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n",
                       labels_[r], total);
    out += fmt::format("openkonnect_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n", labels_[r],
                       static_cast<double>(row.latency_sum_us.load(std::memory_order_relaxed)) / 1e6);
    out += fmt::format("openkonnect_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", labels_[r], total);
  }
  out += "# HELP openkonnect_open_connections Currently open client connections.\n";
  out += "# TYPE openkonnect_open_connections gauge\n";
  out += fmt::format("openkonnect_open_connections {}\n", open_connections());
  for (const auto& section : sections_) out += section();
  return out;
}

}  // namespace ok::observability
