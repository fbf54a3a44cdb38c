#pragma once
// A thin RAII layer over the SQLite C API: one Connection, prepared Statements with typed
// binds and columns, and the translation of SQLite result codes into store errors.

#include "store/errors.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <memory>
#include <unordered_map>

namespace ok::store::sqlite {

// Throws the store error that matches `code` (ConflictError, UnavailableError) or a
// std::runtime_error for anything else (a bug: answered 500, logged with its trace id).
[[noreturn]] void throw_error(sqlite3* db, int code, std::string_view context);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
  Statement& bind_null(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Advances; true while a row is available.
  bool step();
  // Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }

  std::string text(int column) const;
  std::int64_t integer(int column) const;
  bool is_null(int column) const;

  void reset();

  bool in_use = false;  // held by a live Query

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

class Connection {
 public:
  // Opens (creating if needed) the database at `path` and applies the connection pragmas.
  explicit Connection(const std::string& path);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  void exec(std::string_view sql);
  // Prepared statements are cached per connection: hot queries are compiled once.
  Statement& prepare(std::string_view sql);
  // For SQL assembled per request (filters): compiled for one use, never cached, so the
  // cache cannot grow with the variety of client queries.
  std::unique_ptr<Statement> prepare_uncached(std::string_view sql);
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// Resets a cached statement when it goes out of scope, so the next user starts clean.
// A cached statement already held by a live Query (the same SQL used twice in one scope)
// is not shared: the second Query prepares its own copy.
class Query {
 public:
  enum class Caching { cached, uncached };
  Query(Connection& c, std::string_view sql, Caching caching = Caching::cached)
      : owned_(caching == Caching::uncached ? c.prepare_uncached(sql) : nullptr),
        stmt_(owned_ ? *owned_ : c.prepare(sql)) {
    if (!owned_ && stmt_.in_use) {
      owned_ = c.prepare_uncached(sql);
      stmt_ptr_ = owned_.get();
    } else {
      stmt_ptr_ = &stmt_;
    }
    stmt_ptr_->in_use = true;
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() {
    stmt_ptr_->reset();
    stmt_ptr_->in_use = false;
  }
  Statement* operator->() { return stmt_ptr_; }
  Statement& operator*() { return *stmt_ptr_; }

 private:
  std::unique_ptr<Statement> owned_;
  Statement& stmt_;
  Statement* stmt_ptr_ = nullptr;
};

}  // namespace ok::store::sqlite
