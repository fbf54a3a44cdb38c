#pragma once
// A control plane's gateway configuration as data planes take it: Kong's declarative format
// 3.0 (`config_table`), one array per entity (Kong's entity names), foreign keys as bare ids,
// and what a data plane must not run left out — disabled services, routes of a disabled
// service, disabled plugins, and plugins on anything left out. Values are as stored: fields left
// unset are absent, and the data plane fills their defaults (it always does).
//
// A control plane group has no entities of its own: its configuration is the merge of its
// members'. Two members holding the same entity (the same id, or the same endpoint key, such as
// a service's name) conflict; a group in conflict is not pushed, and the conflicts are listed
// the way GET …/group-status shows them.

#include "cluster/hub.hpp"
#include "store/store.hpp"

namespace ok::api::config {

cluster::Rendered render_configuration(store::Store& store, const store::ControlPlane& cp);

// The cluster hub's source of configurations.
class StoreConfigSource final : public cluster::ConfigSource {
 public:
  explicit StoreConfigSource(store::Store& store) : store_(store) {}
  cluster::Rendered render(const store::ControlPlane& cp) override { return render_configuration(store_, cp); }

 private:
  store::Store& store_;
};

}  // namespace ok::api::config
