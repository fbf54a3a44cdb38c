#include "observability/trace.hpp"

#include <random>

namespace ok::observability {

std::uint64_t next_trace_id() {
  // Per-thread generator seeded from the OS: no lock on the request path, and ids of
  // different threads and processes do not follow one sequence.
  thread_local std::mt19937_64 generator{[] {
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
  }()};
  std::uint64_t id = 0;
  while (id == 0) id = generator();
  return id;
}

}  // namespace ok::observability
