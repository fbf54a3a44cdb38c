#pragma once
// What the SQL store needs of a database driver: a Connection that runs SQL, prepared
// Statements with positional `?` parameters, typed binds and columns, and the few spellings
// that differ between the embedded SQLite and PostgreSQL (the Dialect). The store's logic
// (store/sql/) is written once against this; store/sqlite/ and store/postgres/ implement it.
//
// Errors, from every call: ConflictError for a unique-key violation, UnavailableError when the
// database cannot serve (closed, unreachable, full, read-only), std::runtime_error for anything
// else (a bug: answered 500 and logged with its trace id).

#include "store/errors.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ok::store::sql {

class Statement {
 public:
  virtual ~Statement() = default;
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are numbered from 1, as `?` appear in the SQL.
  Statement& bind(int index, std::string_view value) {
    bind_text(index, value);
    return *this;
  }
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::int64_t value) {
    bind_integer(index, value);
    return *this;
  }
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value ? 1 : 0)); }
  Statement& bind_null(int index) {
    bind_nothing(index);
    return *this;
  }
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind_null(index);
  }

  // Runs the statement on the first call and moves to the next row on each; true while a row
  // is available.
  virtual bool step() = 0;
  // Runs a statement that returns no rows.
  void run() {
    while (step()) {
    }
  }

  // The current row's columns, numbered from 0. A NULL reads as "" and 0.
  virtual std::string text(int column) const = 0;
  virtual std::int64_t integer(int column) const = 0;
  virtual bool is_null(int column) const = 0;

  // Forgets the binds and the results: the statement can be bound and run again.
  virtual void reset() = 0;

  bool in_use = false;  // held by a live Query

 protected:
  virtual void bind_text(int index, std::string_view value) = 0;
  virtual void bind_integer(int index, std::int64_t value) = 0;
  virtual void bind_nothing(int index) = 0;
};

// The SQL that differs between the backends. Everything else the store writes is SQL both
// accept (ON CONFLICT, RETURNING-free DML, INTEGER columns for booleans and epoch times).
class Dialect {
 public:
  virtual ~Dialect() = default;
  // The text of the top-level member `key` of the JSON object in `column`; `key` is SQL (a
  // quoted literal or a `?`).
  virtual std::string json_member(std::string_view column, std::string_view key) const = 0;
  // `text` with every letter lower-cased, in every script (for case-insensitive `contains`).
  virtual std::string casefold(std::string_view text) const = 0;
  // The 1-based position of `needle` in `haystack`, 0 when absent.
  virtual std::string position(std::string_view haystack, std::string_view needle) const = 0;
  // A condition that narrows control planes (by `seq`) to those whose name may contain the
  // `?` bound substring (3 characters or more) through an index, before the exact test;
  // empty when the backend has no such index.
  virtual std::string control_plane_name_prefilter() const = 0;
  // `column` written so that the planner does not pick its index (where SQLite's planner
  // would pick a worse one); as it is where the planner needs no such hint.
  virtual std::string unindexed(std::string_view column) const { return std::string(column); }
  // A query of the names of a table's columns, in their order; the table's name is bound to `?`.
  virtual std::string table_columns_query() const {
    return "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND "
           "table_name = ? ORDER BY ordinal_position";
  }
};

class Connection {
 public:
  virtual ~Connection() = default;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  virtual void exec(std::string_view sql) = 0;
  // Prepared statements are cached per connection: hot queries are compiled once.
  virtual Statement& prepare(std::string_view sql) = 0;
  // For SQL assembled per request (filters): compiled for one use, never cached, so the
  // cache cannot grow with the variety of client queries.
  virtual std::unique_ptr<Statement> prepare_uncached(std::string_view sql) = 0;
  // Rows inserted, updated or deleted by the last statement run on this connection.
  virtual std::int64_t changes() = 0;
  virtual const Dialect& dialect() const = 0;
  // True once the connection is lost for good (a server restart): the store drops it and
  // opens another. An embedded database never is.
  virtual bool broken() const { return false; }
};

// Resets a cached statement when it goes out of scope, so the next user starts clean.
// A cached statement already held by a live Query (the same SQL used twice in one scope)
// is not shared: the second Query prepares its own copy.
class Query {
 public:
  enum class Caching { cached, uncached };
  Query(Connection& c, std::string_view sql, Caching caching = Caching::cached) {
    if (caching == Caching::cached) {
      Statement& cached = c.prepare(sql);
      if (!cached.in_use) stmt_ = &cached;
    }
    if (!stmt_) {
      owned_ = c.prepare_uncached(sql);
      stmt_ = owned_.get();
    }
    stmt_->in_use = true;
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  ~Query() {
    stmt_->reset();
    stmt_->in_use = false;
  }
  Statement* operator->() { return stmt_; }
  Statement& operator*() { return *stmt_; }

 private:
  std::unique_ptr<Statement> owned_;
  Statement* stmt_ = nullptr;
};

}  // namespace ok::store::sql
