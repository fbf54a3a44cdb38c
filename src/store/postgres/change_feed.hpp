#pragma once
// How several openkonnect nodes on one PostgreSQL database hear of each other's writes: each
// batch's changes go out with pg_notify inside the batch's transaction (PostgreSQL delivers
// them exactly when it commits, and never when it rolls back), and every node LISTENs on a
// connection of its own. A node knows when it may have missed something: the listening
// connection broke. It then says so (ChangeListener::hearing(false)) until it listens again.

#include "store/sql/connection.hpp"
#include "store/store.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace ok::store::postgres {

inline constexpr const char* kChangeChannel = "openkonnect_changes";

// The pg_notify payloads for `changes` from `node`: each under PostgreSQL's 8000-byte limit.
std::vector<std::string> change_payloads(const std::string& node, const std::vector<Change>& changes);
// The changes in a payload, unless `node` sent it itself (empty then).
std::vector<Change> parse_change_payload(const std::string& node, const std::string& payload);

class ChangeFeed {
 public:
  // `url`: the database to listen on; `node`: this process's id (its own notes are skipped).
  ChangeFeed(std::string url, std::string node, ChangeListener& listener);
  ~ChangeFeed();
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

 private:
  void run();

  std::string url_;
  std::string node_;
  ChangeListener& listener_;
  std::atomic<bool> stopping_{false};
  int wake_fds_[2] = {-1, -1};  // a pipe: the destructor wakes the poll() at once
  std::thread thread_;
};

}  // namespace ok::store::postgres
