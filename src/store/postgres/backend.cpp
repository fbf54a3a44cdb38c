#include "store/postgres/backend.hpp"

#include "store/postgres/connection.hpp"
#include "store/postgres/migrations.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace ok::store::postgres {

PgBackend::PgBackend(std::string url) : url_(std::move(url)) {
  if (!url_.starts_with("postgres://") && !url_.starts_with("postgresql://")) {
    throw std::invalid_argument("a PostgreSQL database URL starts with postgres:// or postgresql://");
  }
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url_.c_str(), &error);
  const std::string message = error ? error : "out of memory";
  PQconninfoFree(options);
  PQfreemem(error);
  if (!options) throw std::invalid_argument("invalid PostgreSQL URL: " + redact_password(message, url_));
}

std::unique_ptr<sql::Connection> PgBackend::connect() { return std::make_unique<PgConnection>(url_); }

void PgBackend::begin_batch(sql::Connection& writer) {
  // One round trip: the lock waits for the batch of any other node, and is released by
  // COMMIT or ROLLBACK.
  try {
    writer.exec(fmt::format("BEGIN; SELECT pg_advisory_xact_lock({})", kPgWriteLock));
  } catch (...) {
    try {
      writer.exec("ROLLBACK");
    } catch (...) {  // the connection is gone: the server rolled back
    }
    throw;
  }
}

int PgBackend::apply_migrations(sql::Connection& c) { return apply_pg_migrations(c); }

int PgBackend::schema_version(sql::Connection& c) { return pg_schema_version(c); }

}  // namespace ok::store::postgres
