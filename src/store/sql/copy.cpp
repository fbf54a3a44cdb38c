#include "store/sql/copy.hpp"

#include "crypto/pem.hpp"
#include "store/sql/backend.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ok::store::sql {
namespace {

std::vector<std::string> columns_of(Connection& c, const std::string& table) {
  Query q(c, c.dialect().table_columns_query());
  q->bind(1, table);
  std::vector<std::string> out;
  while (q->step()) out.push_back(q->text(0));
  return out;
}

std::string select_all(const std::string& table, const std::vector<std::string>& columns) {
  std::string list;
  for (const auto& column : columns) list += (list.empty() ? "" : ", ") + column;
  return fmt::format("SELECT {} FROM {}", list, table);
}

// A row as bytes that tell NULL from "" and cannot run one column into the next.
void encode_row(Statement& s, std::size_t columns, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < columns; ++i) {
    const int column = static_cast<int>(i);
    if (s.is_null(column)) {
      out += 'N';
      continue;
    }
    const auto text = s.text(column);
    out += fmt::format("T{}:", text.size());
    out += text;
  }
}

// Rows come back in whatever order each database likes (collations differ between engines),
// so the digest is of the sorted row digests.
TableCopy digest_table(Connection& c, const std::string& table, const std::vector<std::string>& columns) {
  Query q(c, select_all(table, columns), Query::Caching::uncached);
  std::vector<std::string> rows;
  std::string row;
  while (q->step()) {
    encode_row(*q, columns.size(), row);
    rows.push_back(crypto::sha256_hex(row));
  }
  std::sort(rows.begin(), rows.end());
  std::string all;
  all.reserve(rows.size() * 64);
  for (const auto& r : rows) all += r;
  return {table, static_cast<std::int64_t>(rows.size()), crypto::sha256_hex(all)};
}

std::int64_t count_rows(Connection& c, const std::string& table) {
  Query q(c, "SELECT COUNT(*) FROM " + table, Query::Caching::uncached);
  q->step();
  return q->integer(0);
}

void copy_rows(Connection& from, Connection& to, const std::string& table, const std::vector<std::string>& columns) {
  std::string names, marks;
  for (const auto& column : columns) {
    names += (names.empty() ? "" : ", ") + column;
    marks += marks.empty() ? "?" : ", ?";
  }
  Query read(from, select_all(table, columns), Query::Caching::uncached);
  Query insert(to, fmt::format("INSERT INTO {} ({}) VALUES ({})", table, names, marks));
  while (read->step()) {
    for (std::size_t i = 0; i < columns.size(); ++i) {
      const int column = static_cast<int>(i);
      if (read->is_null(column)) {
        insert->bind_null(column + 1);
      } else {
        insert->bind(column + 1, read->text(column));
      }
    }
    insert->run();
    insert->reset();
  }
}

}  // namespace

const std::vector<std::string>& copied_tables() {
  static const std::vector<std::string> tables = {
      "organizations",          "users",
      "system_accounts",        "teams",
      "team_members",           "role_assignments",
      "access_tokens",          "control_planes",
      "control_plane_labels",   "control_plane_group_members",
      "config_entities",        "config_unique",
      "config_references",      "config_tags",
      "dp_client_certificates", "data_plane_nodes",
      "cluster_identity",       "audit_settings",
      "audit_signing_keys",     "audit_records",
      "audit_journals",
  };
  return tables;
}

std::vector<TableCopy> copy_database(Backend& from_backend, Backend& to_backend, const CopyProgress& progress) {
  auto from = from_backend.connect();
  auto to = to_backend.connect();
  from_backend.apply_migrations(*from);
  to_backend.apply_migrations(*to);
  if (from_backend.schema_version(*from) != to_backend.schema_version(*to)) {
    throw CopyError(fmt::format("the source's schema is version {}, the target's {}: use one openkonnect for both",
                                from_backend.schema_version(*from), to_backend.schema_version(*to)));
  }
  const auto& tables = copied_tables();
  for (const auto& table : tables) {
    if (const auto rows = count_rows(*to, table); rows > 0) {
      throw CopyError(
          fmt::format("the target is not empty ({} has {} rows): copy only into a new database", table, rows));
    }
  }

  // The source is read inside one transaction, so that a server still writing to it cannot
  // make the copy a mix of two moments.
  from->exec("BEGIN");
  to_backend.begin_batch(*to);
  std::vector<TableCopy> copied;
  try {
    for (const auto& table : tables) {
      const auto columns = columns_of(*from, table);
      if (columns.empty()) throw CopyError("the source has no table " + table);
      copy_rows(*from, *to, table, columns);
      auto source = digest_table(*from, table, columns);
      const auto target = digest_table(*to, table, columns);
      if (source.rows != target.rows || source.digest != target.digest) {
        throw CopyError(fmt::format("{}: the target does not read back what the source holds ({} rows against {})",
                                    table, target.rows, source.rows));
      }
      copied.push_back(std::move(source));
      if (progress) progress(copied.back(), copied.size(), tables.size());
    }
    to->exec("COMMIT");
  } catch (...) {
    try {
      to->exec("ROLLBACK");
    } catch (const std::exception&) {  // the connection went: nothing was committed either
    }
    try {
      from->exec("ROLLBACK");
    } catch (const std::exception&) {
    }
    throw;
  }
  from->exec("COMMIT");
  return copied;
}

}  // namespace ok::store::sql
