#pragma once
// Prometheus metrics without a lock on the request path: counters are atomics in tables
// fixed at start-up (one row per route template), so recording is a few relaxed increments.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ok::observability {

class Metrics {
 public:
  // Row 0 is "unmatched" (404/405 before routing); rows 1.. are the routes, in order.
  explicit Metrics(std::vector<std::string> route_labels);

  void record(std::size_t route_row, unsigned status, double seconds);
  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t open_connections() const { return open_connections_.load(std::memory_order_relaxed); }

  std::string render_prometheus() const;
  // Appended to the exposition: metrics kept by other modules (the data-plane hub). Call before serving.
  void add_section(std::function<std::string()> render) { sections_.push_back(std::move(render)); }

 private:
  static constexpr std::array<unsigned, 18> kStatuses = {200, 201, 204, 304, 400, 401, 403, 404, 405,
                                                         409, 413, 415, 429, 431, 500, 503, 0,   0};
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  5.0};
  static std::size_t status_index(unsigned status);

  struct Row {
    std::array<std::atomic<std::uint64_t>, kStatuses.size()> by_status{};
    std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1> latency{};  // last = +Inf
    std::atomic<std::uint64_t> latency_sum_us{0};
  };

  std::vector<std::string> labels_;
  std::unique_ptr<Row[]> rows_;
  std::atomic<std::int64_t> open_connections_{0};
  std::vector<std::function<std::string()>> sections_;
};

}  // namespace ok::observability
