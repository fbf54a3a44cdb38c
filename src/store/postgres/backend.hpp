#pragma once
// PostgreSQL as the SQL store's database: connections from a postgres:// URL, batches of
// writes serialized across every node by an advisory lock, and the schema's migrations.

#include "store/sql/backend.hpp"

#include <string>

namespace ok::store::postgres {

class PgBackend final : public sql::Backend {
 public:
  // `url`: postgres://… or postgresql://…, as libpq reads it. Throws std::invalid_argument
  // when it is not one (the message never names the password).
  explicit PgBackend(std::string url);

  std::unique_ptr<sql::Connection> connect() override;
  void begin_batch(sql::Connection& writer) override;
  int apply_migrations(sql::Connection& c) override;
  int schema_version(sql::Connection& c) override;
  std::optional<ChangeStamp> change_stamp() override { return std::nullopt; }
  std::optional<std::int64_t> memory_in_use() override { return std::nullopt; }

 private:
  std::string url_;
};

}  // namespace ok::store::postgres
