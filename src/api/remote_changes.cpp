#include "api/remote_changes.hpp"

#include "observability/log.hpp"

namespace ok::api {

void RemoteChanges::changed(const std::vector<store::Change>& changes) {
  for (const auto& change : changes) {
    generations_.bump(change.org_id);
    if (!change.control_plane_id.empty()) hub_.resync(store::OrgId(change.org_id), change.control_plane_id);
  }
}

void RemoteChanges::hearing(bool complete) {
  if (!complete) {
    // Until the channel is back, a revoked token or a removed role might not be heard of:
    // every request reads the database instead of a cache.
    generations_.distrust();
    if (!missed_.exchange(true)) {
      observability::log_event(observability::Level::warn, "other nodes' changes cannot be heard: caches are off", 0,
                               "");
    }
    return;
  }
  generations_.invalidate_all();
  generations_.trust();
  if (missed_.exchange(false)) {
    hub_.resync_all();
    observability::log_event(observability::Level::info, "other nodes' changes are heard again: caches are on", 0, "");
  }
}

}  // namespace ok::api
