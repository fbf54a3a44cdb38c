#pragma once
// PostgreSQL as the SQL store's database: connections from a postgres:// URL, batches of
// writes serialized across every node by an advisory lock, and the schema's migrations.

#include "store/postgres/change_feed.hpp"
#include "store/postgres/connection.hpp"
#include "store/sql/backend.hpp"

#include <memory>
#include <mutex>
#include <string>

namespace ok::store::postgres {

class PgBackend final : public sql::Backend {
 public:
  // `url`: postgres://… or postgresql://…, as libpq reads it. Throws std::invalid_argument
  // when it is not one (the message never names the password).
  explicit PgBackend(std::string url);

  std::unique_ptr<sql::Connection> connect() override;
  const sql::Dialect& dialect() const override { return dialect_; }
  void begin_batch(sql::Connection& writer) override;
  void next_savepoint(sql::Connection& writer, bool previous_open) override;
  void announce(sql::Connection& writer, const std::vector<Change>& changes) override;
  bool listen(ChangeListener* listener) override;
  int apply_migrations(sql::Connection& c) override;
  int schema_version(sql::Connection& c) override;
  std::optional<ChangeStamp> change_stamp() override { return std::nullopt; }
  std::optional<std::int64_t> memory_in_use() override { return std::nullopt; }

 private:
  std::string url_;
  PgDialect dialect_;
  std::string node_;  // this process, in its own notifications (they come back to it too)
  std::mutex feed_mutex_;
  std::unique_ptr<ChangeFeed> feed_;
};

}  // namespace ok::store::postgres
