#include "cluster/hub.hpp"

#include "observability/log.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace ok::cluster {
namespace {

constexpr std::string_view kGroupType = "CLUSTER_TYPE_CONTROL_PLANE_GROUP";

using util::now_seconds;

double now_fractional() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Hub::Hub(store::Store& store, ConfigSource& source, std::chrono::milliseconds debounce)
    : store_(store), source_(source), debounce_(debounce), thread_([this] { loop(); }) {}

Hub::~Hub() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::shared_ptr<Hub::Entry> Hub::entry(const store::ControlPlane& cp) {
  std::lock_guard lock(mutex_);
  auto& e = entries_[key(store::OrgId(cp.org_id), cp.id)];
  if (!e) e = std::make_shared<Entry>();
  e->cp = cp;
  e->is_group = cp.cluster_type == kGroupType;
  return e;
}

void Hub::changed(const store::OrgId& org, const std::string& control_plane_id) {
  {
    std::lock_guard lock(mutex_);
    const auto k = key(org, control_plane_id);
    if (auto it = entries_.find(k); it != entries_.end()) {
      ++it->second->generation;
      stale_.insert(k);
    }
    // Any group of the organization may hold this control plane: a member's change is the group's.
    const auto prefix = org.str() + "/";
    for (auto it = entries_.lower_bound(prefix); it != entries_.end() && it->first.starts_with(prefix); ++it) {
      if (it->second->is_group && it->first != k) {
        ++it->second->generation;
        stale_.insert(it->first);
      }
    }
    if (stale_.empty()) return;
  }
  wake_.notify_all();
}

void Hub::removed(const store::OrgId& org, const std::string& control_plane_id) {
  std::vector<std::shared_ptr<Subscriber>> gone;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key(org, control_plane_id));
    if (it == entries_.end()) return;
    for (auto& weak : it->second->subscribers) {
      if (auto s = weak.lock()) gone.push_back(std::move(s));
    }
    entries_.erase(it);
  }
  for (auto& s : gone) s->disconnect("its control plane was deleted");
  changed(org, control_plane_id);  // groups it belonged to
}

void Hub::certificate_removed(const store::OrgId& org, const std::string& control_plane_id,
                              const std::string& fingerprint) {
  std::vector<std::shared_ptr<Subscriber>> gone;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key(org, control_plane_id));
    if (it == entries_.end()) return;
    for (auto& weak : it->second->subscribers) {
      if (auto s = weak.lock(); s && s->certificate_fingerprint() == fingerprint) gone.push_back(std::move(s));
    }
  }
  for (auto& s : gone) s->disconnect("its pinned certificate was removed");
}

void Hub::resync(const store::OrgId& org, const std::string& control_plane_id) {
  std::shared_ptr<Entry> e;
  {
    std::lock_guard lock(mutex_);
    if (auto it = entries_.find(key(org, control_plane_id)); it != entries_.end()) e = it->second;
  }
  if (!e) {
    changed(org, control_plane_id);  // no data plane of it here: only the groups it is in
    return;
  }
  auto cp = store_.get_control_plane(org, control_plane_id);
  if (!cp) {
    removed(org, control_plane_id);
    return;
  }
  const auto subscribers = live_subscribers(*e);
  {
    std::lock_guard lock(mutex_);
    e->cp = *cp;  // renamed, or another auth type
  }
  // Pins are checked again by fingerprint (a CA pinned for pki_client_certs is not the data
  // plane's own certificate: those connections are left to the CA's removal being local).
  if (cp->auth_type != "pki_client_certs" && !subscribers.empty()) {
    std::set<std::string> pinned;
    for (const auto& c : store_.data_planes().certificates(store::Scope::of(*cp))) pinned.insert(c.fingerprint);
    for (const auto& s : subscribers) {
      if (!pinned.contains(s->certificate_fingerprint())) s->disconnect("its pinned certificate was removed");
    }
  }
  changed(org, control_plane_id);
}

void Hub::resync_all() {
  std::vector<std::pair<store::OrgId, std::string>> all;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [k, e] : entries_) all.emplace_back(store::OrgId(e->cp.org_id), e->cp.id);
  }
  for (const auto& [org, id] : all) resync(org, id);
}

Hub::Current Hub::refresh(Entry& e) {
  std::lock_guard render_lock(e.render_mutex);
  std::uint64_t generation = 0;
  store::ControlPlane cp;
  {
    std::lock_guard lock(mutex_);
    if (e.rendered_generation == e.generation) return e.current;
    generation = e.generation;
    cp = e.cp;
  }
  const auto started = std::chrono::steady_clock::now();
  auto rendered = source_.render(cp);
  Current next;
  next.conflicts = std::move(rendered.conflicts);
  if (rendered.config_table) {
    auto payload = make_payload(*rendered.config_table, now_fractional());
    payload->sequence = sequence_.fetch_add(1) + 1;
    next.payload = std::move(payload);
  }
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  counters_.renders.fetch_add(1, std::memory_order_relaxed);
  counters_.render_micros_total.fetch_add(micros, std::memory_order_relaxed);

  std::lock_guard lock(mutex_);
  const auto& before = e.current.payload;
  const bool hash_moved = !before || !next.payload || before->config_hash != next.payload->config_hash;
  next.changed_at = hash_moved || e.current.changed_at == 0 ? now_seconds() : e.current.changed_at;
  if (!hash_moved && next.payload) next.payload = before;  // the same configuration: keep the frame already sent
  e.current = std::move(next);
  e.rendered_generation = generation;
  return e.current;
}

Hub::Current Hub::current(const store::ControlPlane& cp) { return refresh(*entry(cp)); }

std::vector<std::shared_ptr<Subscriber>> Hub::live_subscribers(Entry& e) {
  std::vector<std::shared_ptr<Subscriber>> live;
  std::lock_guard lock(mutex_);
  auto& subs = e.subscribers;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const std::weak_ptr<Subscriber>& w) {
                              auto s = w.lock();
                              if (!s) return true;  // gone: forget it
                              live.push_back(std::move(s));
                              return false;
                            }),
             subs.end());
  return live;
}

void Hub::subscribe(const store::ControlPlane& cp, const std::shared_ptr<Subscriber>& subscriber) {
  auto e = entry(cp);
  {
    std::lock_guard lock(mutex_);
    e->subscribers.push_back(subscriber);
  }
  auto now = refresh(*e);
  if (now.payload) {
    counters_.pushes.fetch_add(1, std::memory_order_relaxed);
    counters_.push_bytes.fetch_add(now.payload->frame.size(), std::memory_order_relaxed);
    subscriber->deliver(now.payload);
  }
}

void Hub::unsubscribe(const store::OrgId& org, const std::string& control_plane_id, const Subscriber* subscriber) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key(org, control_plane_id));
  if (it == entries_.end()) return;
  auto& subs = it->second->subscribers;
  subs.erase(std::remove_if(subs.begin(), subs.end(),
                            [&](const std::weak_ptr<Subscriber>& w) {
                              auto s = w.lock();
                              return !s || s.get() == subscriber;
                            }),
             subs.end());
}

std::map<std::string, Hub::Connected> Hub::connected() const {
  std::map<std::string, Connected> out;
  std::lock_guard lock(mutex_);
  for (const auto& [k, e] : entries_) {
    Connected c;
    for (const auto& w : e->subscribers) {
      if (auto s = w.lock()) {
        ++c.total;
        c.in_sync += s->in_sync();
      }
    }
    if (c.total) out[e->cp.id] = c;
  }
  return out;
}

std::string Hub::render_metrics() const {
  std::string out;
  const auto now = connected();
  out += "# HELP openkonnect_data_planes_connected Data planes connected, per control plane.\n";
  out += "# TYPE openkonnect_data_planes_connected gauge\n";
  std::size_t in_sync = 0, total = 0;
  for (const auto& [id, c] : now) {
    out += fmt::format("openkonnect_data_planes_connected{{control_plane_id=\"{}\"}} {}\n", id, c.total);
    in_sync += c.in_sync;
    total += c.total;
  }
  out += "# HELP openkonnect_data_planes_sync Connected data planes by whether they run the current configuration.\n";
  out += "# TYPE openkonnect_data_planes_sync gauge\n";
  out += fmt::format("openkonnect_data_planes_sync{{state=\"in_sync\"}} {}\n", in_sync);
  out += fmt::format("openkonnect_data_planes_sync{{state=\"out_of_sync\"}} {}\n", total - in_sync);
  auto counter = [&out](const char* name, const char* help, std::uint64_t value) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help, name, name, value);
  };
  counter("openkonnect_config_renders_total", "Configurations rendered for data planes.", counters_.renders.load());
  counter("openkonnect_config_render_seconds_total", "Time spent rendering configurations, in whole seconds.",
          static_cast<std::uint64_t>(counters_.render_micros_total.load() / 1'000'000));
  counter("openkonnect_config_pushes_total", "Configurations handed to data planes.", counters_.pushes.load());
  counter("openkonnect_config_push_bytes_total", "Bytes of configuration handed to data planes.",
          counters_.push_bytes.load());
  counter("openkonnect_data_plane_refusals_total", "Data-plane connections refused.",
          counters_.refused_connections.load());
  return out;
}

void Hub::loop() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !stale_.empty(); });
    if (stopping_) return;
    // Let the burst settle: writes arriving meanwhile join this render.
    if (wake_.wait_for(lock, debounce_, [this] { return stopping_; })) return;
    std::vector<std::shared_ptr<Entry>> work;
    for (const auto& k : stale_) {
      if (auto it = entries_.find(k); it != entries_.end()) work.push_back(it->second);
    }
    stale_.clear();
    lock.unlock();
    for (auto& e : work) {
      try {
        auto subscribers = live_subscribers(*e);
        if (subscribers.empty()) continue;  // rendered on demand when next needed
        // The record may have changed (a rename, a group's members): read it again.
        auto cp = store_.get_control_plane(store::OrgId(e->cp.org_id), e->cp.id);
        if (!cp) {
          removed(store::OrgId(e->cp.org_id), e->cp.id);
          continue;
        }
        {
          std::lock_guard entry_lock(mutex_);
          e->cp = *cp;
        }
        auto now = refresh(*e);
        if (!now.payload) continue;
        for (auto& s : subscribers) {
          counters_.pushes.fetch_add(1, std::memory_order_relaxed);
          counters_.push_bytes.fetch_add(now.payload->frame.size(), std::memory_order_relaxed);
          s->deliver(now.payload);
        }
      } catch (const std::exception& ex) {
        // The store is down, say: the control plane stays stale and is tried on the next change.
        observability::log_event(observability::Level::warn,
                                 fmt::format("rendering the configuration of control plane {} failed", e->cp.id), 0,
                                 ex.what());
      }
    }
    lock.lock();
  }
}

}  // namespace ok::cluster
