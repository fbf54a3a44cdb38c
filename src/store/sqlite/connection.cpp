#include "store/sqlite/connection.hpp"

#include <fmt/format.h>

#include <memory>
#include <stdexcept>

namespace ok::store::sqlite {

void throw_error(sqlite3* db, int code, std::string_view context) {
  const int primary = code & 0xFF;
  const std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(code);
  if (code == SQLITE_CONSTRAINT_UNIQUE || code == SQLITE_CONSTRAINT_PRIMARYKEY) {
    // "UNIQUE constraint failed: control_planes.org_id, control_planes.name"
    const auto colon = message.find(": ");
    throw ConflictError(colon == std::string::npos ? message : message.substr(colon + 2));
  }
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_PERM:
    case SQLITE_NOMEM:
      throw UnavailableError(fmt::format("{}: {} (code {})", context, message, code));
    default:
      throw std::runtime_error(fmt::format("{}: {} (code {})", context, message, code));
  }
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind(int index, std::string_view value) {
  const int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) throw_error(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) throw_error(db_, rc, "bind");
  return *this;
}

Statement& Statement::bind_null(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) throw_error(db_, rc, "bind");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // The statement must be reset before the caller's next use; keep the error code first.
  const int extended = sqlite3_extended_errcode(db_);
  sqlite3_reset(stmt_);
  throw_error(db_, extended != SQLITE_OK ? extended : rc, "step");
}

std::string Statement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

Connection::Connection(const std::string& path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw UnavailableError(fmt::format("cannot open database [{}]: {}", path, message));
  }
  sqlite3_extended_result_codes(db_, 1);
  // Concurrent writers (another server process, `org create`) wait instead of failing.
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec("PRAGMA foreign_keys = ON");
    // WAL lets readers run while one writer commits. synchronous=FULL fsyncs the WAL on every
    // commit: a 2xx promises the write survives not just kill -9 (NORMAL would do for that)
    // but power loss too. Its cost is paid once per batch by the group-commit writer.
    exec("PRAGMA journal_mode = WAL");
    exec("PRAGMA synchronous = FULL");
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

Connection::~Connection() {
  cache_.clear();
  if (db_) sqlite3_close(db_);
}

void Connection::exec(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (error) sqlite3_free(error);
  if (rc != SQLITE_OK) throw_error(db_, sqlite3_extended_errcode(db_), "exec");
}

Statement& Connection::prepare(std::string_view sql) {
  auto key = std::string(sql);
  if (auto it = cache_.find(key); it != cache_.end()) return *it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                                    nullptr);
  if (rc != SQLITE_OK) throw_error(db_, sqlite3_extended_errcode(db_), "prepare");
  auto [it, inserted] = cache_.emplace(std::move(key), std::make_unique<Statement>(db_, stmt));
  return *it->second;
}

}  // namespace ok::store::sqlite

namespace ok::store::sqlite {

std::unique_ptr<Statement> Connection::prepare_uncached(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) throw_error(db_, sqlite3_extended_errcode(db_), "prepare");
  return std::make_unique<Statement>(db_, stmt);
}

}  // namespace ok::store::sqlite
