#pragma once
// The SQLite driver of the SQL store: a Connection over the SQLite C API, prepared Statements
// with typed binds and columns, and the translation of SQLite result codes into store errors.

#include "store/sql/connection.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ok::store::sqlite {

// Throws the store error that matches `code` (ConflictError, UnavailableError) or a
// std::runtime_error for anything else (a bug: answered 500, logged with its trace id).
[[noreturn]] void throw_error(sqlite3* db, int code, std::string_view context);

class SqliteStatement final : public sql::Statement {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement() override;

  bool step() override;
  std::string text(int column) const override;
  std::int64_t integer(int column) const override;
  bool is_null(int column) const override;
  void reset() override;

 protected:
  void bind_text(int index, std::string_view value) override;
  void bind_integer(int index, std::int64_t value) override;
  void bind_nothing(int index) override;

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class SqliteDialect final : public sql::Dialect {
 public:
  std::string json_member(std::string_view column, std::string_view key) const override;
  std::string casefold(std::string_view text) const override;
  std::string position(std::string_view haystack, std::string_view needle) const override;
  std::string control_plane_name_prefilter() const override;
  std::string unindexed(std::string_view column) const override;
  std::string table_columns_query() const override { return "SELECT name FROM pragma_table_info(?) ORDER BY cid"; }
};

class SqliteConnection final : public sql::Connection {
 public:
  // Opens (creating if needed) the database at `path` and applies the connection pragmas.
  explicit SqliteConnection(const std::string& path);
  ~SqliteConnection() override;

  void exec(std::string_view sql) override;
  sql::Statement& prepare(std::string_view sql) override;
  std::unique_ptr<sql::Statement> prepare_uncached(std::string_view sql) override;
  std::int64_t changes() override { return sqlite3_changes64(db_); }
  const sql::Dialect& dialect() const override;
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>> cache_;
};

}  // namespace ok::store::sqlite
