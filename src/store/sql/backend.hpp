#pragma once
// A database the SQL store runs on: how to open connections, how a batch of writes takes
// the database for itself, the schema's migrations, and what the engine can tell about
// itself. store/sqlite/ and store/postgres/ each provide one.

#include "store/sql/connection.hpp"
#include "store/store.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace ok::store::sql {

class Backend {
 public:
  virtual ~Backend() = default;

  // A new connection. Throws UnavailableError when the database cannot be reached.
  virtual std::unique_ptr<Connection> connect() = 0;
  // The SQL spellings of this database; lives as long as the backend.
  virtual const Dialect& dialect() const = 0;

  // Opens the transaction one batch of writes runs in, inside which no other writer (of
  // this process or of another node on the same database) changes anything: the store's
  // invariants that span rows (last admin, token limits, group sizes, entity references)
  // are checked and written as if writes ran one at a time.
  virtual void begin_batch(Connection& writer) = 0;

  // Opens the savepoint "w" the next write of a batch runs in, so that one failing write
  // undoes only itself; when `previous_open`, the previous write's savepoint (kept, or
  // rolled back to) is released first. The batch's COMMIT releases the last one. By
  // default two prepared statements; a database across a network does both in one round
  // trip.
  virtual void next_savepoint(Connection& writer, bool previous_open) {
    if (previous_open) Query(writer, "RELEASE w")->run();
    Query(writer, "SAVEPOINT w")->run();
  }

  // Applies every pending migration (safe when several processes start at once); returns
  // how many were applied.
  virtual int apply_migrations(Connection& c) = 0;
  // The newest migration version applied.
  virtual int schema_version(Connection& c) = 0;

  // Called inside each batch's transaction, before it commits, with what the batch changed,
  // so that other nodes hear of it exactly when it commits. Nothing by default: an embedded
  // database has no other nodes.
  virtual void announce(Connection& writer, const std::vector<Change>& changes) {
    (void)writer;
    (void)changes;
  }
  // See Store::listen.
  virtual bool listen(ChangeListener* listener) {
    (void)listener;
    return false;
  }

  // See Store::change_stamp and Store::memory_in_use.
  virtual std::optional<ChangeStamp> change_stamp() = 0;
  virtual std::optional<std::int64_t> memory_in_use() = 0;
};

// The backend a database URL names ("sqlite:PATH", "postgres://…"). Throws
// std::invalid_argument for a URL no backend takes.
std::unique_ptr<Backend> open_backend(const std::string& url);

}  // namespace ok::store::sql
