#include "api/system/routes.hpp"

#include "api/app.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"
#include "store/errors.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <boost/json/object.hpp>

#include <cstdio>
#include <string_view>
#include <utility>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ok::api::system {

void register_routes(App& app) {
  app.route(
      "GET", "/healthz",
      [](RequestContext& ctx) {
        try {
          ctx.store().ping();
        } catch (const store::UnavailableError&) {
          throw errors::ApiError::unavailable("The database is unreachable.");
        }
        return json_response(200, boost::json::object{{"status", "ok"}});
      },
      false);
  app.route(
      "GET", "/metrics",
      [&app](RequestContext& ctx) {
        http::Response r;
        r.content_type = "text/plain; version=0.0.4";
        r.body = app.metrics().render_prometheus();
        // Memory: the process's resident set and the storage engine's share of it, so that a
        // long run shows which one grows.
        if (const auto engine = ctx.store().memory_in_use()) {
          r.body += "# HELP openkonnect_store_memory_bytes Memory held by the storage engine.\n";
          r.body += "# TYPE openkonnect_store_memory_bytes gauge\n";
          r.body += fmt::format("openkonnect_store_memory_bytes {}\n", *engine);
        }
        long pages = 0;
        long resident = 0;
        if (std::FILE* statm = std::fopen("/proc/self/statm", "r")) {
          if (std::fscanf(statm, "%ld %ld", &pages, &resident) == 2) {
            r.body += "# HELP process_resident_memory_bytes Resident memory size in bytes.\n";
            r.body += "# TYPE process_resident_memory_bytes gauge\n";
            r.body += fmt::format("process_resident_memory_bytes {}\n", resident * ::sysconf(_SC_PAGESIZE));
          }
          std::fclose(statm);
        }
#if defined(__GLIBC__)
        // The allocator's view: bytes handed out and not freed, and free bytes it keeps. With
        // the resident set, this tells growth in use (a leak, a cache) from fragmentation.
        // A replaced allocator (a sanitizer's, a preloaded one) reports zeros: then say nothing.
        const struct mallinfo2 heap = ::mallinfo2();
        if (heap.uordblks + heap.hblkhd + heap.fordblks > 0) {
          r.body += "# HELP openkonnect_heap_in_use_bytes Bytes allocated by the process and not yet freed.\n";
          r.body += "# TYPE openkonnect_heap_in_use_bytes gauge\n";
          r.body += fmt::format("openkonnect_heap_in_use_bytes {}\n", heap.uordblks + heap.hblkhd);
          r.body += "# HELP openkonnect_heap_free_bytes Freed bytes the allocator keeps for reuse.\n";
          r.body += "# TYPE openkonnect_heap_free_bytes gauge\n";
          r.body += fmt::format("openkonnect_heap_free_bytes {}\n", heap.fordblks);
        }
#endif
        // The read caches fill toward their bounds; a long run shows how much they hold. Each
        // metric's lines stay together, as the exposition format requires.
        const std::pair<std::string_view, CacheUsage> caches[] = {
            {"control_planes", ctx.caches().control_planes.usage()},
            {"users", ctx.caches().users.usage()},
            {"control_plane_pages", ctx.caches().control_plane_pages.usage()}};
        r.body += "# HELP openkonnect_cache_entries Entries held by a read cache.\n";
        r.body += "# TYPE openkonnect_cache_entries gauge\n";
        for (const auto& [name, usage] : caches) {
          r.body += fmt::format("openkonnect_cache_entries{{cache=\"{}\"}} {}\n", name, usage.entries);
        }
        r.body += "# HELP openkonnect_cache_bytes Bytes held by a read cache, as it weighs them.\n";
        r.body += "# TYPE openkonnect_cache_bytes gauge\n";
        for (const auto& [name, usage] : caches) {
          r.body += fmt::format("openkonnect_cache_bytes{{cache=\"{}\"}} {}\n", name, usage.bytes);
        }
        r.body += "# HELP openkonnect_token_index_refusals_total Made-up tokens refused from memory.\n";
        r.body += "# TYPE openkonnect_token_index_refusals_total counter\n";
        r.body +=
            fmt::format("openkonnect_token_index_refusals_total {}\n", ctx.authenticator().token_index().answered());
        return r;
      },
      false);
}

}  // namespace ok::api::system
