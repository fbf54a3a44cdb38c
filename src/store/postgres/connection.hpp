#pragma once
// The SQL store's driver interface over libpq: a PgConnection per PostgreSQL session,
// PgStatements that take the store's SQLite-style `?` parameters, and PostgreSQL's spellings
// of what differs between the engines.

#include "store/sql/connection.hpp"

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ok::store::postgres {

// `sql` with its `?` and `?NNN` parameters numbered as $1, $2…, as SQLite numbers them (a bare
// `?` takes the largest number so far plus one); a `?` in a literal, a quoted identifier or a
// comment is left alone. `params` receives the largest number.
std::string number_parameters(std::string_view sql, int& params);

// `message` with the password `url` carries (as libpq parses it, or as written) masked.
std::string redact_password(std::string message, const std::string& url);

class PgDialect final : public sql::Dialect {
 public:
  std::string json_member(std::string_view column, std::string_view key) const override;
  std::string casefold(std::string_view text) const override;
  std::string position(std::string_view haystack, std::string_view needle) const override;
  std::string control_plane_name_prefilter() const override { return {}; }
};

class PgConnection;

class PgStatement final : public sql::Statement {
 public:
  // `name` is empty for a statement run once (unnamed, PQexecParams).
  PgStatement(PgConnection& connection, std::string_view sql, std::string name);
  ~PgStatement() override;

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
  struct Param {
    std::string value;
    Oid type = 0;  // 0: let the server infer it from the SQL
    bool null = true;
  };
  Param& param(int index);
  void prepare_for(const std::vector<Oid>& types);

  PgConnection& connection_;
  std::string sql_;
  std::string name_;
  std::vector<Param> params_;
  // The types the server-side statement was prepared with, and the type each parameter was
  // last bound with (a NULL bind keeps it: it fits any type).
  std::vector<Oid> prepared_types_;
  std::vector<Oid> bound_types_;
  bool prepared_ = false;
  PGresult* result_ = nullptr;
  int row_ = -1;
};

class PgConnection final : public sql::Connection {
 public:
  // Connects with a libpq URL or connection string. Throws UnavailableError (never naming
  // the password) when the server cannot be reached or refuses the login.
  explicit PgConnection(const std::string& url);
  ~PgConnection() override;

  void exec(std::string_view sql) override;
  sql::Statement& prepare(std::string_view sql) override;
  std::unique_ptr<sql::Statement> prepare_uncached(std::string_view sql) override;
  std::int64_t changes() override { return changes_; }
  const sql::Dialect& dialect() const override { return dialect_; }
  bool broken() const override;

  PGconn* handle() const { return conn_; }

  // Transaction control whose answer nobody waits for ("SAVEPOINT w"): sent ahead of the next
  // statement, in the same round trip (libpq's pipeline mode), and its error, if any, thrown
  // by that statement. A ROLLBACK drops what is still deferred.
  void defer(std::string command) { deferred_.push_back(std::move(command)); }
  // Sends the deferred commands, if any, and waits for them.
  void flush_deferred();
  // Runs a statement (PQexecParams when `name` is empty, else PQexecPrepared) after the
  // deferred commands; returns its result, unchecked.
  PGresult* execute(const std::string& name, const std::string& sql, int count, const Oid* types,
                    const char* const* values);

  // Takes ownership of `result`: returns it when it succeeded, throws the store error for it
  // otherwise. Records the rows a DML command changed.
  PGresult* check(PGresult* result, std::string_view context);

 private:
  PGconn* conn_ = nullptr;
  PgDialect dialect_;
  std::int64_t changes_ = 0;
  std::uint64_t statements_named_ = 0;
  std::unordered_map<std::string, std::unique_ptr<PgStatement>> cache_;
  std::vector<std::string> deferred_;
  bool lost_ = false;
};

}  // namespace ok::store::postgres
