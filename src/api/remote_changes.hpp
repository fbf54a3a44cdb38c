#pragma once
// What this node does when another node on the same database commits a write: the
// organization's cached credentials, roles and reads are stale, and the data planes of the
// control plane it touched, if any are connected here, are brought up to date.

#include "auth/generations.hpp"
#include "cluster/hub.hpp"
#include "store/store.hpp"

#include <atomic>

namespace ok::api {

class RemoteChanges final : public store::ChangeListener {
 public:
  RemoteChanges(auth::Generations& generations, cluster::Hub& hub) : generations_(generations), hub_(hub) {}

  void changed(const std::vector<store::Change>& changes) override;
  void hearing(bool complete) override;

 private:
  auth::Generations& generations_;
  cluster::Hub& hub_;
  std::atomic<bool> missed_{false};  // the channel broke since it was last complete
};

}  // namespace ok::api
