#include "store/sqlite/connection.hpp"

#include <fmt/format.h>

#include <locale.h>
#include <clocale>
#include <cwctype>

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

namespace {

// ok_casefold(text): lower-cases every letter, not just ASCII as SQLite's lower() does, so
// `contains` filters ignore case in every script. Uses the C.UTF-8 locale's tables.
locale_t utf8_locale() {
  static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
  return locale;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void casefold(sqlite3_context* context, int, sqlite3_value** argv) {
  const auto* text = reinterpret_cast<const unsigned char*>(sqlite3_value_text(argv[0]));
  if (!text) {
    sqlite3_result_null(context);
    return;
  }
  const auto size = static_cast<std::size_t>(sqlite3_value_bytes(argv[0]));
  const locale_t locale = utf8_locale();
  std::string out;
  out.reserve(size);
  for (std::size_t i = 0; i < size;) {
    const unsigned char b = text[i];
    std::size_t extra = b < 0x80 ? 0 : (b & 0xE0) == 0xC0 ? 1 : (b & 0xF0) == 0xE0 ? 2 : (b & 0xF8) == 0xF0 ? 3 : 0;
    if (b >= 0x80 && (extra == 0 || i + extra >= size)) {
      out.push_back(static_cast<char>(b));  // not UTF-8: keep the byte
      ++i;
      continue;
    }
    char32_t cp = extra == 0 ? b : b & (0x3F >> extra);
    bool valid = true;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((text[i + k] & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (text[i + k] & 0x3F);
    }
    if (!valid) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp));
    } else if (locale != static_cast<locale_t>(nullptr)) {
      append_utf8(out, static_cast<char32_t>(towlower_l(static_cast<wint_t>(cp), locale)));
    } else {
      append_utf8(out, cp);
    }
    i += extra + 1;
  }
  sqlite3_result_text(context, out.data(), static_cast<int>(out.size()), SQLITE_TRANSIENT);
}

}  // namespace

SqliteStatement::~SqliteStatement() { sqlite3_finalize(stmt_); }

void SqliteStatement::bind_text(int index, std::string_view value) {
  const int rc = sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) throw_error(db_, rc, "bind");
}

void SqliteStatement::bind_integer(int index, std::int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) throw_error(db_, rc, "bind");
}

void SqliteStatement::bind_nothing(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) throw_error(db_, rc, "bind");
}

bool SqliteStatement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  // The statement must be reset before the caller's next use; keep the error code first.
  const int extended = sqlite3_extended_errcode(db_);
  sqlite3_reset(stmt_);
  throw_error(db_, extended != SQLITE_OK ? extended : rc, "step");
}

std::string SqliteStatement::text(int column) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
  if (!p) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

std::int64_t SqliteStatement::integer(int column) const { return sqlite3_column_int64(stmt_, column); }

bool SqliteStatement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

void SqliteStatement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

SqliteConnection::SqliteConnection(const std::string& path) {
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    const std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw UnavailableError(fmt::format("cannot open database [{}]: {}", path, message));
  }
  sqlite3_extended_result_codes(db_, 1);
  sqlite3_create_function_v2(db_, "ok_casefold", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                             casefold, nullptr, nullptr, nullptr);
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

SqliteConnection::~SqliteConnection() {
  cache_.clear();
  if (db_) sqlite3_close(db_);
}

void SqliteConnection::exec(std::string_view sql) {
  char* error = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error);
  if (error) sqlite3_free(error);
  if (rc != SQLITE_OK) throw_error(db_, sqlite3_extended_errcode(db_), "exec");
}

sql::Statement& SqliteConnection::prepare(std::string_view sql) {
  auto key = std::string(sql);
  if (auto it = cache_.find(key); it != cache_.end()) return *it->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, key.data(), static_cast<int>(key.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) throw_error(db_, sqlite3_extended_errcode(db_), "prepare");
  auto [it, inserted] = cache_.emplace(std::move(key), std::make_unique<SqliteStatement>(db_, stmt));
  return *it->second;
}

std::unique_ptr<sql::Statement> SqliteConnection::prepare_uncached(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) throw_error(db_, sqlite3_extended_errcode(db_), "prepare");
  return std::make_unique<SqliteStatement>(db_, stmt);
}

const sql::Dialect& SqliteConnection::dialect() const {
  static const SqliteDialect sqlite_dialect;
  return sqlite_dialect;
}

std::string SqliteDialect::json_member(std::string_view column, std::string_view key) const {
  return fmt::format("json_extract({}, '$.' || json_quote({}))", column, key);
}

std::string SqliteDialect::casefold(std::string_view text) const { return fmt::format("ok_casefold({})", text); }

std::string SqliteDialect::position(std::string_view haystack, std::string_view needle) const {
  return fmt::format("instr({}, {})", haystack, needle);
}

// The trigram index of migration 3, searched for the substring as one literal FTS5 phrase.
std::string SqliteDialect::control_plane_name_prefilter() const {
  return "seq IN (SELECT rowid FROM control_plane_names WHERE control_plane_names MATCH "
         "'\"' || replace(?, '\"', '\"\"') || '\"')";
}

// SQLite's planner leaves an index out for a column written as a unary-plus expression.
std::string SqliteDialect::unindexed(std::string_view column) const { return fmt::format("+{}", column); }

}  // namespace ok::store::sqlite
