#pragma once
// Versioned schema migrations for the SQLite backend. Each migration runs once, in its own
// transaction, in version order; `schema_migrations` records what has been applied.

#include "store/sqlite/connection.hpp"

#include <string_view>
#include <vector>

namespace ok::store::sqlite {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

const std::vector<Migration>& migrations();

// Applies every pending migration; returns how many were applied.
int apply_migrations(SqliteConnection& connection);

int current_version(sql::Connection& connection);

}  // namespace ok::store::sqlite
