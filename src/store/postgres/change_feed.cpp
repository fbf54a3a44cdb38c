#include "store/postgres/change_feed.hpp"

#include "observability/log.hpp"
#include "store/postgres/connection.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>

namespace ok::store::postgres {
namespace {

// One change a line: "org_id\tcontrol_plane_id". The first line is the sending node's id.
constexpr std::size_t kMaxPayload = 7900;  // PostgreSQL refuses 8000 bytes and more

// A connection that LISTENs on the channel, or null while the database cannot be reached
// (the listener hears hearing(false) meanwhile).
std::unique_ptr<PgConnection> listening_connection(const std::string& url) {
  try {
    auto c = std::make_unique<PgConnection>(url);
    c->exec(std::string("LISTEN ") + kChangeChannel);
    return c;
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace

std::vector<std::string> change_payloads(const std::string& node, const std::vector<Change>& changes) {
  std::vector<std::string> out;
  std::string current = node;
  for (const auto& change : changes) {
    std::string line = "\n" + change.org_id + "\t" + change.control_plane_id;
    if (current.size() + line.size() > kMaxPayload && current.size() > node.size()) {
      out.push_back(std::move(current));
      current = node;
    }
    current += line;
  }
  if (current.size() > node.size()) out.push_back(std::move(current));
  return out;
}

std::vector<Change> parse_change_payload(const std::string& node, const std::string& payload) {
  std::vector<Change> out;
  auto end = payload.find('\n');
  if (payload.substr(0, end) == node) return out;
  while (end != std::string::npos) {
    const auto start = end + 1;
    end = payload.find('\n', start);
    const auto line = payload.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const auto tab = line.find('\t');
    if (tab == std::string::npos) continue;
    out.push_back({line.substr(0, tab), line.substr(tab + 1)});
  }
  return out;
}

ChangeFeed::ChangeFeed(std::string url, std::string node, ChangeListener& listener)
    : url_(std::move(url)), node_(std::move(node)), listener_(listener) {
  if (::pipe2(wake_fds_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe2 failed");
  thread_ = std::thread([this] { run(); });
}

ChangeFeed::~ChangeFeed() {
  stopping_ = true;
  const char byte = 0;
  [[maybe_unused]] const auto written = ::write(wake_fds_[1], &byte, 1);
  if (thread_.joinable()) thread_.join();
  ::close(wake_fds_[0]);
  ::close(wake_fds_[1]);
}

void ChangeFeed::run() {
  bool hearing = true;  // what the listener was last told (it starts out trusting)
  // The listener reads the store to act on what it hears; should that fail (the database
  // going away again), what it heard is as good as missed: listen again from the start.
  const auto tell = [&](bool now) {
    if (now == hearing) return true;
    try {
      listener_.hearing(now);
    } catch (const std::exception& e) {
      observability::log_event(observability::Level::warn, "acting on other nodes' changes failed", 0, e.what());
      return false;
    }
    hearing = now;
    return true;
  };
  while (!stopping_) {
    auto c = listening_connection(url_);
    if (!c) {
      tell(false);
      pollfd wake{wake_fds_[0], POLLIN, 0};
      ::poll(&wake, 1, 250);
      continue;
    }
    // Listening from here on: whatever was missed before is covered by hearing(true), which
    // makes the listener read everything again.
    if (!tell(true)) {
      pollfd wake{wake_fds_[0], POLLIN, 0};
      ::poll(&wake, 1, 250);
      continue;
    }
    while (!stopping_) {
      PGconn* pg = c->handle();
      pollfd fds[2] = {{PQsocket(pg), POLLIN, 0}, {wake_fds_[0], POLLIN, 0}};
      if (::poll(fds, 2, 1000) < 0) continue;
      if (fds[1].revents) break;
      if (!PQconsumeInput(pg)) break;  // the connection broke
      std::vector<Change> changes;
      while (PGnotify* n = PQnotifies(pg)) {
        auto parsed = parse_change_payload(node_, n->extra);
        changes.insert(changes.end(), parsed.begin(), parsed.end());
        PQfreemem(n);
      }
      if (!changes.empty()) {
        try {
          listener_.changed(changes);
        } catch (const std::exception& e) {
          observability::log_event(observability::Level::warn, "acting on other nodes' changes failed", 0, e.what());
          break;
        }
      }
      if (PQstatus(pg) != CONNECTION_OK) break;
    }
    if (!stopping_) tell(false);
  }
}

}  // namespace ok::store::postgres
