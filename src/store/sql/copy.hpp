#pragma once
// Moves an installation from one database to another (`openkonnect copy --from --to`): every
// table that holds data, row for row, in one transaction on the target, verified before it
// commits by each table's row count and a digest of its content, read back from both sides.
// What the target derives by itself (control-plane counts, the SQLite name index, the
// migrations' own records) is left to it.

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ok::store::sql {

class Backend;

// The copy was refused (a target that is not empty, a source newer than this binary) or its
// verification failed; nothing was written to the target.
class CopyError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TableCopy {
  std::string table;
  std::int64_t rows = 0;
  std::string digest;  // hex SHA-256 of the table's rows, whatever their order
};

// Told after each table is copied (for progress on a terminal).
using CopyProgress = std::function<void(const TableCopy&, std::size_t done, std::size_t total)>;

// The tables that hold data, parents before the tables that reference them.
const std::vector<std::string>& copied_tables();

// Brings both databases to the current schema, then copies. Throws CopyError, or
// UnavailableError when a database cannot be reached.
std::vector<TableCopy> copy_database(Backend& from, Backend& to, const CopyProgress& progress = {});

}  // namespace ok::store::sql
