#pragma once
// The hub between configuration changes and connected data planes. It knows, per control
// plane, the configuration last rendered (a Payload, made once and shared by every data plane
// of that control plane) and the data planes connected to it, and it pushes each new
// configuration to all of them.
//
// Changes are debounced: a burst of writes (decK syncing a thousand entities) marks the
// control plane stale many times, and the hub renders once, `debounce` after the first mark.
// Rendering runs on the hub's own thread, so neither a request nor a connection waits for it;
// only a reader that needs the current configuration now (a data plane that just connected,
// GET …/expected-config-hash) renders it, once, if it is stale.
//
// A control plane group has no configuration of its own: its data planes get the merge of its
// members' configurations (the ConfigSource does that), so a change to any member of an
// organization also marks that organization's groups stale.

#include "cluster/payload.hpp"
#include "store/store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace ok::cluster {

// What a control plane's data planes should run.
struct Rendered {
  std::optional<boost::json::object> config_table;  // nullopt when conflicts forbid a push
  boost::json::array conflicts;                     // a group's members disagree: group-status shows these
};

class ConfigSource {
 public:
  virtual ~ConfigSource() = default;
  // The configuration of `cp` (of a group: its members' merged). May block on the store.
  virtual Rendered render(const store::ControlPlane& cp) = 0;
};

// A connected data plane, as the hub sees it. Every call may come from any thread and must
// return at once.
class Subscriber {
 public:
  virtual ~Subscriber() = default;
  virtual void deliver(std::shared_ptr<const Payload> payload) = 0;
  virtual void disconnect(const std::string& reason) = 0;
  virtual const std::string& certificate_fingerprint() const = 0;
  // Whether the hash the data plane last reported is the configuration's current one.
  virtual bool in_sync() const = 0;
};

struct HubCounters {
  std::atomic<std::uint64_t> renders{0};
  std::atomic<std::uint64_t> pushes{0};  // frames handed to data planes
  std::atomic<std::uint64_t> push_bytes{0};
  std::atomic<std::uint64_t> refused_connections{0};
  std::atomic<std::int64_t> render_micros_total{0};
};

class Hub {
 public:
  Hub(store::Store& store, ConfigSource& source, std::chrono::milliseconds debounce);
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // The configuration of a control plane changed (or it joined or left a group): quick, any thread.
  void changed(const store::OrgId& org, const std::string& control_plane_id);
  // A control plane was deleted: its data planes are disconnected.
  void removed(const store::OrgId& org, const std::string& control_plane_id);
  // A pinned certificate was removed or replaced: data planes connected with it are disconnected.
  void certificate_removed(const store::OrgId& org, const std::string& control_plane_id,
                           const std::string& fingerprint);

  // Another node committed a change to this control plane (or may have, while this node could
  // not hear): whatever it was (configuration, pins, auth type, deletion), this node's data
  // planes of it end as if it had been made here. Reads the store.
  void resync(const store::OrgId& org, const std::string& control_plane_id);
  // The same for every control plane this node serves.
  void resync_all();

  struct Current {
    std::shared_ptr<const Payload> payload;  // null when conflicts forbid a push
    boost::json::array conflicts;
    std::int64_t changed_at = 0;  // epoch seconds: when the configuration hash last changed
  };
  // The configuration as of now, rendered if stale.
  Current current(const store::ControlPlane& cp);

  // Registers a data plane and hands it the current configuration.
  void subscribe(const store::ControlPlane& cp, const std::shared_ptr<Subscriber>& subscriber);
  void unsubscribe(const store::OrgId& org, const std::string& control_plane_id, const Subscriber* subscriber);

  // Connected data planes per control plane id, and how many of them are in sync (for /metrics).
  struct Connected {
    std::size_t total = 0;
    std::size_t in_sync = 0;
  };
  std::map<std::string, Connected> connected() const;
  // The Prometheus exposition of the above and of the counters.
  std::string render_metrics() const;
  HubCounters& counters() { return counters_; }

 private:
  struct Entry {
    store::ControlPlane cp;
    bool is_group = false;
    std::uint64_t generation = 1;  // bumped by every change
    std::uint64_t rendered_generation = 0;
    Current current;
    std::vector<std::weak_ptr<Subscriber>> subscribers;
    std::mutex render_mutex;  // one render of a control plane at a time
  };
  static std::string key(const store::OrgId& org, const std::string& id) { return org.str() + "/" + id; }
  std::shared_ptr<Entry> entry(const store::ControlPlane& cp);
  // Renders `e` unless fresh; returns what is current afterwards.
  Current refresh(Entry& e);
  void loop();
  std::vector<std::shared_ptr<Subscriber>> live_subscribers(Entry& e);

  store::Store& store_;
  ConfigSource& source_;
  std::chrono::milliseconds debounce_;
  HubCounters counters_;
  std::atomic<std::uint64_t> sequence_{0};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::set<std::string> stale_;  // keys waiting for the hub's thread
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ok::cluster
