#include "store/postgres/backend.hpp"

#include "store/postgres/connection.hpp"
#include "store/postgres/migrations.hpp"

#include "util/ids.hpp"

#include <fmt/format.h>

#include <stdexcept>

namespace ok::store::postgres {

PgBackend::PgBackend(std::string url) : url_(std::move(url)), node_(util::new_uuid()) {
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

void PgBackend::next_savepoint(sql::Connection& writer, bool previous_open) {
  // Sent with the write's first statement, in its round trip: the writer waits for each
  // statement in turn, and these were a third of a create's round trips.
  auto& pg = static_cast<PgConnection&>(writer);
  if (previous_open) pg.defer("RELEASE w");
  pg.defer("SAVEPOINT w");
}

void PgBackend::announce(sql::Connection& writer, const std::vector<Change>& changes) {
  // Inside the batch's transaction: the other nodes hear of it exactly when, and only if, it
  // commits.
  for (const auto& payload : change_payloads(node_, changes)) {
    sql::Query q(writer, std::string("SELECT pg_notify('") + kChangeChannel + "', ?)");
    q->bind(1, payload).run();
  }
}

bool PgBackend::listen(ChangeListener* listener) {
  std::lock_guard lock(feed_mutex_);
  feed_.reset();  // joins its thread: the previous listener is never called again
  if (listener) feed_ = std::make_unique<ChangeFeed>(url_, node_, *listener);
  return true;
}

int PgBackend::apply_migrations(sql::Connection& c) { return apply_pg_migrations(c); }

int PgBackend::schema_version(sql::Connection& c) { return pg_schema_version(c); }

}  // namespace ok::store::postgres
