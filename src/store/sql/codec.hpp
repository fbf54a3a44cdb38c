#pragma once
// Helpers shared by the SQL store's files: JSON columns and WHERE-clause building.

#include "store/sql/connection.hpp"
#include "store/store.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ok::store::sql {

using Labels = std::vector<std::pair<std::string, std::string>>;

inline std::string kind_name(PrincipalKind kind) { return kind == PrincipalKind::user ? "user" : "system_account"; }

std::string labels_to_json(const Labels& labels);
Labels labels_from_json(const std::string& text);

// Accumulates "AND"-joined conditions and their text arguments. Every condition binds its
// values as parameters; column names come from code, never from clients.
class Where {
 public:
  Where(const Dialect& dialect, std::string first, std::vector<std::string> args = {})
      : dialect_(dialect), sql_(std::move(first)), args_(std::move(args)) {}

  void add(std::string_view condition, std::vector<std::string> args = {});
  void in(std::string_view column, const std::vector<std::string>& values, bool negate = false);
  void string_filter(std::string_view column, const StringFilter& filter);
  // An empty list of visible ids matches nothing.
  void visible(std::string_view column, const std::optional<std::vector<std::string>>& ids);

  const std::string& sql() const { return sql_; }
  const std::vector<std::string>& args() const { return args_; }
  // Binds the arguments from index 1; returns the next free index.
  int bind(Statement& s) const;

 private:
  const Dialect& dialect_;
  std::string sql_;
  std::vector<std::string> args_;
};

// Runs "SELECT COUNT(*)" and a paged "SELECT columns" over `from` + `where`, ordered by
// `order`, reading each row with `read`.
template <typename T, typename Read>
Page<T> paged_select(Connection& c, std::string_view columns, std::string_view from, const Where& where,
                     std::string_view order, const PageRequest& page, Read read, bool count_rows = true) {
  Page<T> out;
  if (count_rows) {
    Query count(c, std::string("SELECT COUNT(*) FROM ") + std::string(from) + " WHERE " + where.sql(),
                Query::Caching::uncached);
    where.bind(*count);
    count->step();
    out.total = count->integer(0);
  }
  Query rows(c,
             std::string("SELECT ") + std::string(columns) + " FROM " + std::string(from) + " WHERE " + where.sql() +
                 " ORDER BY " + std::string(order) + " LIMIT ? OFFSET ?",
             Query::Caching::uncached);
  const int next = where.bind(*rows);
  rows->bind(next, page.size);
  rows->bind(next + 1, (page.number - 1) * page.size);
  while (rows->step()) out.items.push_back(read(*rows));
  return out;
}

}  // namespace ok::store::sql
