#pragma once
// Answers "no such token" from memory, so a flood of made-up tokens never reaches the
// database: a set of the first 64 bits of every stored token hash, with the store's
// ChangeStamp as it was when the set was read.
//
// It only ever answers "unknown", and only while the stamp is unchanged: any commit by any
// process (another server, `openkonnect org create`) changes the stamp, and until the set is
// read again every question falls through to the database. A prefix that matches says
// nothing (the database decides), so the set may keep hashes of deleted tokens.
//
// The stamp carries the file system's modification time, which the kernel takes from a clock
// that advances in ticks of a few milliseconds. A set is therefore trusted only when the
// database had been quiet for kQuietPeriod before it was read: a later commit then always gets
// a later time, even within one tick of the read.

#include "store/store.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_set>

namespace ok::auth {

class TokenIndex {
 public:
  static constexpr std::chrono::milliseconds kQuietPeriod{50};
  // Reloads are spaced by at least this, and by at least 20 times the last one's duration, so
  // that a database that keeps changing costs reloads of at most ~5 % of one thread.
  static constexpr std::chrono::milliseconds kMinReloadInterval{100};

  explicit TokenIndex(store::Store& store) : store_(store) {}

  // True only when no stored token has this hash (hex SHA-256, as auth::hash_token makes).
  bool definitely_unknown(std::string_view token_hash);

  // How many questions were answered from memory (for tests and metrics).
  std::uint64_t answered() const { return answered_.load(std::memory_order_relaxed); }

 private:
  struct Snapshot {
    store::ChangeStamp stamp;
    bool trusted = false;
    std::unordered_set<std::uint64_t> prefixes;
  };
  static std::uint64_t prefix(std::string_view token_hash);
  void maybe_reload();

  store::Store& store_;
  std::atomic<std::shared_ptr<const Snapshot>> snapshot_;
  std::mutex reload_mutex_;
  std::chrono::steady_clock::time_point next_reload_{};
  std::atomic<std::uint64_t> answered_{0};
};

}  // namespace ok::auth
