#include "store/sqlite/backend.hpp"

#include "store/sqlite/migrations.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ok::store::sqlite {

// SQLite's page caches are per connection, and readers are as many as concurrent handlers:
// left alone their caches would grow together with the database. A process-wide soft limit
// makes SQLite recycle cache pages instead, so memory stays flat under long load.
constexpr sqlite3_int64 kSqliteSoftHeapLimit = 8LL * 1024 * 1024;

SqliteBackend::SqliteBackend(std::string path) : path_(std::move(path)) {
  sqlite3_soft_heap_limit64(kSqliteSoftHeapLimit);
}

SqliteBackend::~SqliteBackend() {
  if (wal_watch_fd_ >= 0) ::close(wal_watch_fd_);
  for (const int fd : retired_wal_fds_) ::close(fd);
}

std::unique_ptr<sql::Connection> SqliteBackend::connect() {
  auto c = std::make_unique<SqliteConnection>(path_);
  // A checkpoint copies every page changed since the last one into the database file: once
  // per 8 000 WAL pages (32 MiB) instead of SQLite's 1 000, a page changed by many commits (an
  // index's busy leaf, the name index) is copied once rather than several times. Durable
  // creates went from about 7 000/s to 8 500/s on the benchmark machine; a restart after a
  // crash reads at most that much WAL. (Only the writer ever checkpoints.)
  c->exec("PRAGMA wal_autocheckpoint = 8000");
  // Each write of a batch runs in its own savepoint, whose undo pages SQLite keeps in a
  // statement journal; left to a temporary file (the default), that journal took three of
  // every four pwrite calls of a busy writer. In memory it is a few megabytes at most.
  c->exec("PRAGMA temp_store = MEMORY");
  return c;
}

const sql::Dialect& SqliteBackend::dialect() const {
  static const SqliteDialect sqlite_dialect;
  return sqlite_dialect;
}

// Prepared once: at hundreds of writes per batch, parsing it every time shows in profiles.
void SqliteBackend::begin_batch(sql::Connection& writer) { sql::Query(writer, "BEGIN IMMEDIATE")->run(); }

int SqliteBackend::apply_migrations(sql::Connection& c) {
  return sqlite::apply_migrations(static_cast<SqliteConnection&>(c));
}

int SqliteBackend::schema_version(sql::Connection& c) { return current_version(c); }

// In WAL mode every commit, from any process, writes the -wal file: its identity, size and
// modification time change (a checkpoint that restarts the log rewrites it from the start,
// which changes the time). One fstat() on a descriptor kept open, no lock, no transaction.
// The writer connection keeps the -wal file alive while the store is open; should it still be
// removed, it has no links left, and the file at the path (a new one) is opened instead.
std::optional<ChangeStamp> SqliteBackend::change_stamp() {
  struct stat st {};
  const auto current = [&st](int fd) { return fd >= 0 && ::fstat(fd, &st) == 0 && st.st_nlink > 0; };
  if (!current(wal_watch_fd_.load(std::memory_order_acquire))) {
    std::lock_guard lock(wal_watch_mutex_);
    if (!current(wal_watch_fd_.load())) {
      // A replaced descriptor stays open until the store closes: another thread may be
      // calling fstat() on it right now.
      if (wal_watch_fd_ >= 0) retired_wal_fds_.push_back(wal_watch_fd_);
      wal_watch_fd_ = ::open((path_ + "-wal").c_str(), O_RDONLY | O_CLOEXEC);
      if (!current(wal_watch_fd_.load())) return std::nullopt;
    }
  }
  return ChangeStamp{static_cast<std::uint64_t>(st.st_ino), static_cast<std::uint64_t>(st.st_size),
                     static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace ok::store::sqlite
