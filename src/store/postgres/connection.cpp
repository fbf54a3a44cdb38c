#include "store/postgres/connection.hpp"

#include <fmt/format.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace ok::store::postgres {

namespace {

constexpr Oid kPgInt8Oid = 20;  // bigint, from PostgreSQL's pg_type catalog

// libpq's messages span lines ("...failed: Connection refused\n\tIs the server running...");
// the log wants one.
std::string pg_one_line(const char* text) {
  std::string out;
  for (const char* p = text ? text : ""; *p; ++p) {
    if (*p != '\n' && *p != '\t') {
      out += *p;
    } else if (!out.empty() && out.back() != ' ') {
      out += ' ';
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool pg_unavailable_state(std::string_view state) {
  // Class 08: connection exceptions; 53: insufficient resources (disk full, too many
  // connections); 57P01-03: the server shuts down or is starting; 25006: a read-only server
  // (a standby after a failover).
  return state.starts_with("08") || state.starts_with("53") || state == "57P01" || state == "57P02" ||
         state == "57P03" || state == "25006";
}

[[noreturn]] void throw_pg_error(PGconn* conn, const PGresult* result, std::string_view context) {
  const char* field = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string_view state = field ? field : "";
  if (state == "23505") {
    const char* constraint = PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME);
    throw ConflictError(constraint ? constraint : pg_one_line(PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)));
  }
  const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  // Without a server's message the error is libpq's own (a lost connection), kept on the
  // connection.
  const std::string message = primary ? primary : pg_one_line(PQerrorMessage(conn));
  const auto what = state.empty() ? fmt::format("{}: {}", context, message)
                                  : fmt::format("{}: {} (SQLSTATE {})", context, message, state);
  if (PQstatus(conn) == CONNECTION_BAD || pg_unavailable_state(state)) throw UnavailableError(what);
  throw std::runtime_error(what);
}

// Server notices ("relation already exists, skipping") are not errors; libpq would print them
// on stderr.
void pg_ignore_notice(void*, const char*) {}

std::string pg_replaced(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace

std::string redact_password(std::string message, const std::string& url) {
  char* error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(url.c_str(), &error)) {
    for (auto* o = options; o->keyword; ++o) {
      if (o->val && std::string_view(o->keyword) == "password") message = pg_replaced(std::move(message), o->val);
    }
    PQconninfoFree(options);
  }
  PQfreemem(error);
  // The URL's user info as written (percent-encoded), which libpq's messages about a URL it
  // cannot parse may quote.
  if (const auto scheme = url.find("://"); scheme != std::string::npos) {
    const auto authority = url.substr(scheme + 3, url.find_first_of("/?", scheme + 3) - scheme - 3);
    const auto at = authority.rfind('@');
    const auto colon = authority.find(':');
    if (at != std::string::npos && colon < at) {
      message = pg_replaced(std::move(message), std::string_view(authority).substr(colon + 1, at - colon - 1));
    }
  }
  return message;
}

std::string number_parameters(std::string_view sql, int& params) {
  std::string out;
  out.reserve(sql.size() + 8);
  params = 0;
  for (std::size_t i = 0; i < sql.size();) {
    const char ch = sql[i];
    const auto copy_until = [&](std::string_view end) {
      const auto stop = sql.find(end, i + 1);
      const auto next = stop == std::string_view::npos ? sql.size() : stop + end.size();
      out.append(sql.substr(i, next - i));
      i = next;
    };
    if (ch == '\'') {
      copy_until("'");  // a doubled '' closes and reopens: the same text
    } else if (ch == '"') {
      copy_until("\"");
    } else if (ch == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      copy_until("\n");
    } else if (ch == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      // PostgreSQL's block comments nest.
      int depth = 0;
      std::size_t j = i;
      do {
        if (sql.compare(j, 2, "/*") == 0) {
          ++depth;
          j += 2;
        } else if (sql.compare(j, 2, "*/") == 0) {
          --depth;
          j += 2;
        } else {
          ++j;
        }
      } while (depth > 0 && j < sql.size());
      out.append(sql.substr(i, j - i));
      i = j;
    } else if (ch == '?') {
      std::size_t j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') ++j;
      int number = params + 1;
      if (j > i + 1) std::from_chars(sql.data() + i + 1, sql.data() + j, number);
      params = std::max(params, number);
      out += '$';
      out += std::to_string(number);
      i = j;
    } else {
      out += ch;
      ++i;
    }
  }
  return out;
}

std::string PgDialect::json_member(std::string_view column, std::string_view key) const {
  // ->> takes a text key or an array index: the cast settles which for a `?`.
  return fmt::format("(({})::jsonb ->> ({})::text)", column, key);
}

std::string PgDialect::casefold(std::string_view text) const {
  // lower() follows the database's LC_CTYPE: C.UTF-8 (scripts/postgres.sh) folds every script.
  return fmt::format("lower({})", text);
}

std::string PgDialect::position(std::string_view haystack, std::string_view needle) const {
  return fmt::format("strpos({}, {})", haystack, needle);
}

PgStatement::PgStatement(PgConnection& connection, std::string_view sql, std::string name)
    : connection_(connection), name_(std::move(name)) {
  int count = 0;
  sql_ = number_parameters(sql, count);
  params_.resize(static_cast<std::size_t>(count));
  bound_types_.assign(static_cast<std::size_t>(count), 0);
}

PgStatement::~PgStatement() { PQclear(result_); }

PgStatement::Param& PgStatement::param(int index) {
  if (index < 1 || static_cast<std::size_t>(index) > params_.size()) {
    throw std::runtime_error(fmt::format("bind: no parameter {} in [{}]", index, sql_));
  }
  return params_[static_cast<std::size_t>(index - 1)];
}

void PgStatement::bind_text(int index, std::string_view value) {
  auto& p = param(index);
  p.value.assign(value);
  p.null = false;
  bound_types_[static_cast<std::size_t>(index - 1)] = 0;
}

void PgStatement::bind_integer(int index, std::int64_t value) {
  auto& p = param(index);
  p.value = std::to_string(value);
  p.null = false;
  bound_types_[static_cast<std::size_t>(index - 1)] = kPgInt8Oid;
}

void PgStatement::bind_nothing(int index) { param(index).null = true; }

void PgStatement::prepare_for(const std::vector<Oid>& types) {
  connection_.flush_deferred();  // PQprepare waits for its answer: no pipeline
  PGconn* conn = connection_.handle();
  if (prepared_) {
    PQclear(connection_.check(PQexec(conn, ("DEALLOCATE " + name_).c_str()), "prepare"));
    prepared_ = false;
  }
  PQclear(connection_.check(PQprepare(conn, name_.c_str(), sql_.c_str(), static_cast<int>(types.size()), types.data()),
                            "prepare"));
  prepared_types_ = types;
  prepared_ = true;
}

bool PgStatement::step() {
  if (!result_) {
    std::vector<const char*> values;
    values.reserve(params_.size());
    for (const auto& p : params_) values.push_back(p.null ? nullptr : p.value.c_str());
    const int count = static_cast<int>(values.size());
    // A NULL bound on the first run gave its parameter no type, so the server inferred one
    // from the SQL; once the parameter is bound a value of another type, the statement is
    // prepared again with it.
    if (!name_.empty() && (!prepared_ || prepared_types_ != bound_types_)) prepare_for(bound_types_);
    result_ = connection_.check(connection_.execute(name_, sql_, count, bound_types_.data(), values.data()), "step");
  }
  if (row_ + 1 >= PQntuples(result_)) return false;
  ++row_;
  return true;
}

namespace {
const char* pg_cell(const PGresult* result, int row, int column) {
  if (!result || row < 0 || row >= PQntuples(result) || PQgetisnull(result, row, column)) return nullptr;
  return PQgetvalue(result, row, column);
}
}  // namespace

std::string PgStatement::text(int column) const {
  const char* value = pg_cell(result_, row_, column);
  return value ? std::string(value, static_cast<std::size_t>(PQgetlength(result_, row_, column))) : std::string();
}

std::int64_t PgStatement::integer(int column) const {
  const char* value = pg_cell(result_, row_, column);
  if (!value) return 0;
  const std::string_view v(value);
  if (v == "t") return 1;
  if (v == "f") return 0;
  // A numeric (SUM of a bigint) or a real reads as its integer part, as in SQLite.
  std::int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

bool PgStatement::is_null(int column) const {
  return result_ && row_ >= 0 && row_ < PQntuples(result_) && PQgetisnull(result_, row_, column);
}

void PgStatement::reset() {
  PQclear(result_);
  result_ = nullptr;
  row_ = -1;
  for (auto& p : params_) {
    p.value.clear();
    p.null = true;
  }
}

PgConnection::PgConnection(const std::string& url) {
  // Later keywords override earlier ones, and the URL's own settings override what precedes
  // it: the URL may name another application or a shorter timeout, never another encoding.
  const char* const keywords[] = {"connect_timeout", "application_name", "dbname", "client_encoding", nullptr};
  const char* const values[] = {"10", "openkonnect", url.c_str(), "UTF8", nullptr};
  conn_ = PQconnectdbParams(keywords, values, 1);
  if (!conn_) throw UnavailableError("cannot connect to PostgreSQL: out of memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    const auto where = fmt::format("{}:{}/{}", PQhost(conn_) ? PQhost(conn_) : "", PQport(conn_) ? PQport(conn_) : "",
                                   PQdb(conn_) ? PQdb(conn_) : "");
    auto message = redact_password(pg_one_line(PQerrorMessage(conn_)), url);
    if (const char* password = PQpass(conn_)) message = pg_replaced(std::move(message), password);
    PQfinish(conn_);
    conn_ = nullptr;
    throw UnavailableError(fmt::format("cannot connect to PostgreSQL at {}: {}", where, message));
  }
  PQsetNoticeProcessor(conn_, pg_ignore_notice, nullptr);
}

PgConnection::~PgConnection() {
  cache_.clear();
  PQfinish(conn_);
}

PGresult* PgConnection::check(PGresult* result, std::string_view context) {
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && status != PGRES_EMPTY_QUERY) {
    try {
      throw_pg_error(conn_, result, context);
    } catch (...) {
      PQclear(result);
      throw;
    }
  }
  // As SQLite's changes(): only a command that writes rows sets the count.
  const std::string_view command = PQcmdStatus(result);
  if (command.starts_with("INSERT") || command.starts_with("UPDATE") || command.starts_with("DELETE") ||
      command.starts_with("MERGE")) {
    const std::string_view rows = PQcmdTuples(result);
    changes_ = 0;
    std::from_chars(rows.data(), rows.data() + rows.size(), changes_);
  }
  return result;
}

void PgConnection::exec(std::string_view sql) {
  std::string text;
  if (sql.starts_with("ROLLBACK")) {
    deferred_.clear();  // moot: the transaction is undone (and, aborted, would refuse them)
  } else {
    for (auto& command : deferred_) text += command + "; ";
    deferred_.clear();
  }
  text += sql;  // a simple query: several statements, one round trip
  PQclear(check(PQexec(conn_, text.c_str()), "exec"));
}

void PgConnection::flush_deferred() {
  if (!deferred_.empty()) exec("");
}

PGresult* PgConnection::execute(const std::string& name, const std::string& sql, int count, const Oid* types,
                                const char* const* values) {
  if (deferred_.empty()) {
    return name.empty() ? PQexecParams(conn_, sql.c_str(), count, types, values, nullptr, nullptr, 0)
                        : PQexecPrepared(conn_, name.c_str(), count, values, nullptr, nullptr, 0);
  }
  const auto commands = std::move(deferred_);
  deferred_.clear();
  // One round trip: the deferred commands, the statement, a sync. After an error the server
  // skips the rest up to the sync (their results say PGRES_PIPELINE_ABORTED).
  bool sent = PQenterPipelineMode(conn_) == 1;
  for (const auto& command : commands) {
    sent = sent && PQsendQueryParams(conn_, command.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0) == 1;
  }
  sent = sent && (name.empty() ? PQsendQueryParams(conn_, sql.c_str(), count, types, values, nullptr, nullptr, 0)
                               : PQsendQueryPrepared(conn_, name.c_str(), count, values, nullptr, nullptr, 0)) == 1;
  sent = sent && PQpipelineSync(conn_) == 1;
  // Each query's result is followed by a NULL; the sync's result ends the pipeline. A lost
  // connection gives an error result and then NULLs only: more NULLs than queries end it too.
  const std::size_t queries = commands.size() + 1;
  std::vector<PGresult*> results(queries, nullptr);
  std::size_t index = 0;
  while (sent && index <= queries) {
    PGresult* r = PQgetResult(conn_);
    if (!r) {
      ++index;
      continue;
    }
    if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (index < queries) {
      PQclear(results[index]);
      results[index] = r;
    } else {
      PQclear(r);
    }
  }
  // Left in pipeline mode (results unread: the connection failed), it would refuse every
  // later call: it is taken for lost.
  if (PQexitPipelineMode(conn_) != 1) lost_ = true;
  // The first error is the one to report: a deferred command's, else the statement's.
  for (std::size_t i = 0; i + 1 < queries; ++i) {
    const auto status = results[i] ? PQresultStatus(results[i]) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK) continue;
    PGresult* failed = results[i];
    results[i] = nullptr;
    for (auto* other : results) PQclear(other);
    check(failed, "exec");  // throws
  }
  for (std::size_t i = 0; i + 1 < queries; ++i) PQclear(results[i]);
  return results.back();
}

sql::Statement& PgConnection::prepare(std::string_view sql) {
  auto key = std::string(sql);
  if (auto it = cache_.find(key); it != cache_.end()) return *it->second;
  auto statement = std::make_unique<PgStatement>(*this, sql, fmt::format("ok{}", ++statements_named_));
  return *cache_.emplace(std::move(key), std::move(statement)).first->second;
}

std::unique_ptr<sql::Statement> PgConnection::prepare_uncached(std::string_view sql) {
  return std::make_unique<PgStatement>(*this, sql, std::string());
}

// An idle connection learns that its server went away (a restart ends it with a FATAL
// message, then closes it) only when it next reads. Nothing else arrives unasked on the
// store's connections, so one that is readable while idle is taken for lost: one poll()
// without waiting finds it before a request would fail on it.
bool PgConnection::broken() const {
  if (lost_ || PQstatus(conn_) == CONNECTION_BAD) return true;
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE) return false;  // in use: its own calls will tell
  pollfd fd{PQsocket(conn_), POLLIN, 0};
  return fd.fd < 0 || ::poll(&fd, 1, 0) != 0;
}

}  // namespace ok::store::postgres
