#pragma once
// Versioned schema migrations for the PostgreSQL backend: the schema SQLite's migrations of
// the same versions build (store/sqlite/migrations.cpp), in PostgreSQL's types, so that the
// store's SQL runs on both. `schema_migrations` records what has been applied.

#include "store/sql/connection.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace ok::store::postgres {

struct PgMigration {
  int version;
  std::string_view description;
  std::string_view sql;
};

const std::vector<PgMigration>& pg_migrations();

// The advisory lock every writer of the database holds for its transaction: a batch of
// writes, a migration. "ok_write" in ASCII.
constexpr std::int64_t kPgWriteLock = 0x6F6B5F7772697465;

// Applies every pending migration, each in its own transaction under the write lock, so that
// processes starting together apply each once; returns how many were applied.
int apply_pg_migrations(sql::Connection& connection);

int pg_schema_version(sql::Connection& connection);

}  // namespace ok::store::postgres
