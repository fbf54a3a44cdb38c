#include "store/sql/codec.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace ok::store::sql {

namespace bj = boost::json;

std::string labels_to_json(const Labels& labels) {
  bj::object o;
  for (const auto& [k, v] : labels) o[k] = v;
  return bj::serialize(o);
}

Labels labels_from_json(const std::string& text) {
  Labels out;
  const auto v = bj::parse(text);
  for (const auto& [k, val] : v.as_object()) out.emplace_back(std::string(k), std::string(val.as_string()));
  std::sort(out.begin(), out.end());
  return out;
}

void Where::add(std::string_view condition, std::vector<std::string> args) {
  sql_ += " AND ";
  sql_ += condition;
  for (auto& a : args) args_.push_back(std::move(a));
}

void Where::in(std::string_view column, const std::vector<std::string>& values, bool negate) {
  if (values.empty()) return;
  std::string marks;
  for (const auto& v : values) {
    marks += marks.empty() ? "?" : ", ?";
    args_.push_back(v);
  }
  sql_ += " AND ";
  sql_ += column;
  sql_ += negate ? " NOT IN (" : " IN (";
  sql_ += marks + ")";
}

void Where::string_filter(std::string_view column, const StringFilter& filter) {
  for (const auto& v : filter.eq) add(std::string(column) + " = ?", {v});
  for (const auto& v : filter.contains) {
    add(dialect_.position(dialect_.casefold(column), dialect_.casefold("?")) + " > 0", {v});
  }
}

void Where::visible(std::string_view column, const std::optional<std::vector<std::string>>& ids) {
  if (!ids) return;
  if (ids->empty()) {
    add("1 = 0");
    return;
  }
  in(column, *ids);
}

int Where::bind(Statement& s) const {
  int i = 1;
  for (const auto& a : args_) s.bind(i++, a);
  return i;
}

}  // namespace ok::store::sql
