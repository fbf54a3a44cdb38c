#pragma once
// The embedded SQLite database as a backend of the SQL store: one file, WAL, and one writer
// at a time (BEGIN IMMEDIATE), which is also how another process on the same file (`org
// create`, a second server) is kept out of a batch.

#include "store/sql/backend.hpp"
#include "store/sqlite/connection.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace ok::store::sqlite {

class SqliteBackend final : public sql::Backend {
 public:
  // `path` is a file path; the file is created when missing.
  explicit SqliteBackend(std::string path);
  ~SqliteBackend() override;

  std::unique_ptr<sql::Connection> connect() override;
  const sql::Dialect& dialect() const override;
  void begin_batch(sql::Connection& writer) override;
  int apply_migrations(sql::Connection& c) override;
  int schema_version(sql::Connection& c) override;
  std::optional<ChangeStamp> change_stamp() override;
  std::optional<std::int64_t> memory_in_use() override { return sqlite3_memory_used(); }

 private:
  std::string path_;
  // The -wal file, for change_stamp(); replaced (under the mutex) only if it was removed.
  std::mutex wal_watch_mutex_;
  std::atomic<int> wal_watch_fd_{-1};
  std::vector<int> retired_wal_fds_;
};

}  // namespace ok::store::sqlite
