#include "auth/token_index.hpp"

#include <charconv>

namespace ok::auth {

std::uint64_t TokenIndex::prefix(std::string_view token_hash) {
  std::uint64_t value = 0;
  const auto digits = token_hash.substr(0, 16);
  std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  return value;
}

bool TokenIndex::definitely_unknown(std::string_view token_hash) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const auto snapshot = snapshot_.load();
    if (snapshot && snapshot->trusted) {
      if (snapshot->prefixes.contains(prefix(token_hash))) return false;  // the database decides
      const auto now = store_.change_stamp();
      if (now && *now == snapshot->stamp) {
        answered_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    if (attempt == 0) maybe_reload();
  }
  return false;
}

void TokenIndex::maybe_reload() {
  std::unique_lock lock(reload_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another thread is reloading; this question goes to the database
  const auto started = std::chrono::steady_clock::now();
  if (started < next_reload_) return;
  auto fresh = std::make_shared<Snapshot>();
  const auto stamp = store_.change_stamp();  // before the read: a commit after it changes the stamp
  if (stamp) {
    fresh->stamp = *stamp;
    const auto wall_now =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    fresh->trusted =
        wall_now - stamp->modified_ns > std::chrono::duration_cast<std::chrono::nanoseconds>(kQuietPeriod).count();
    if (fresh->trusted) {
      for (const auto& hash : store_.all_token_hashes()) fresh->prefixes.insert(prefix(hash));
    }
  }
  snapshot_.store(std::move(fresh));
  const auto took = std::chrono::steady_clock::now() - started;
  next_reload_ =
      std::chrono::steady_clock::now() + std::max<std::chrono::steady_clock::duration>(kMinReloadInterval, took * 20);
}

}  // namespace ok::auth
