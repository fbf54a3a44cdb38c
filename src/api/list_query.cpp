#include "api/list_query.hpp"

#include "errors/api_error.hpp"
#include "schema/validator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace ok::api {
namespace {

using errors::InvalidParameter;
using errors::Rule;
using errors::Source;

InvalidParameter query_problem(std::string field, Rule rule, std::string reason,
                               std::optional<std::int64_t> limit = {}) {
  return {
      .field = std::move(field), .rule = rule, .reason = std::move(reason), .source = Source::query, .limit = limit};
}

}  // namespace

bool split_filter_key(std::string_view key, std::string& field, std::string& op) {
  if (!key.starts_with("filter[")) return false;
  auto rest = key.substr(7);
  auto close = rest.find(']');
  if (close == std::string_view::npos || close == 0) return false;
  field.assign(rest.substr(0, close));
  rest.remove_prefix(close + 1);
  op.clear();
  if (rest.empty()) return true;
  if (rest.size() < 3 || rest.front() != '[' || rest.back() != ']') return false;
  op.assign(rest.substr(1, rest.size() - 2));
  return !op.empty() && op.find_first_of("[]") == std::string::npos;
}

namespace {

std::optional<std::int64_t> parse_integer(std::string_view s) {
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string> split_csv(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    auto comma = s.find(',');
    out.emplace_back(s.substr(0, comma));
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace

ListQuery parse_list_query(const http::QueryParams& params, const ListSpec& spec) {
  ListQuery q;
  q.page_size = spec.default_page_size;
  errors::InvalidParameters problems;

  for (const auto& [key, value] : params) {
    if (key == "page[size]" || key == "page[number]") {
      if (value.empty()) continue;  // allowEmptyValue: treated as unset
      const bool is_size = key == "page[size]";
      auto n = parse_integer(value);
      if (!n) {
        problems.push_back(query_problem(key, Rule::is_integer, "must be an integer"));
      } else if (*n < 1) {
        problems.push_back(query_problem(key, Rule::min, "must be at least 1", 1));
      } else if (is_size && *n > spec.max_page_size) {
        problems.push_back(
            query_problem(key, Rule::max, fmt::format("must be at most {}", spec.max_page_size), spec.max_page_size));
      } else if (!is_size && *n > 1'000'000'000) {
        problems.push_back(query_problem(key, Rule::max, "must be at most 1000000000", 1'000'000'000));
      } else {
        (is_size ? q.page_size : q.page_number) = *n;
      }
      continue;
    }
    if (key == "sort") {
      if (spec.sort_fields.empty()) {
        problems.push_back(query_problem("sort", Rule::unknown_property, "sorting is not supported on this list"));
        continue;
      }
      // "created_at", "created_at desc", "created_at asc"; one key only.
      std::string_view s = value;
      auto space = s.find(' ');
      std::string_view field = s.substr(0, space);
      std::string_view direction = space == std::string_view::npos ? "" : s.substr(space + 1);
      const bool known = std::find(spec.sort_fields.begin(), spec.sort_fields.end(), field) != spec.sort_fields.end();
      if (!known || (direction != "" && direction != "asc" && direction != "desc")) {
        InvalidParameter p =
            query_problem("sort", Rule::enum_,
                          fmt::format("\"sort\" field must contain any of: [{}]", fmt::join(spec.sort_fields, ", ")));
        for (const auto& f : spec.sort_fields) p.choices.emplace_back(f);
        problems.push_back(std::move(p));
        continue;
      }
      q.sort_field = std::string(field);
      q.sort_descending = direction == "desc";
      continue;
    }
    if (key == "labels" && spec.labels) {
      if (value.empty()) continue;
      for (const auto& item : split_csv(value)) {
        const auto colon = item.find(':');
        std::string k = item.substr(0, colon);
        std::optional<std::string> v;
        if (colon != std::string::npos) v = item.substr(colon + 1);
        if (k.empty() || (v && v->empty())) {
          problems.push_back(
              query_problem("labels", Rule::is_label, fmt::format("[{}] is not a valid label selector", item)));
          continue;
        }
        q.labels.emplace_back(std::move(k), std::move(v));
      }
      continue;
    }
    if (key.starts_with("filter")) {
      std::string field;
      std::string op;
      if (!split_filter_key(key, field, op)) {
        problems.push_back(query_problem(key, Rule::invalid, "is not a valid filter parameter"));
        continue;
      }
      // A spec field "labels.*" matches any "labels.<key>" (Identity's label filters).
      const auto spec_it = std::find_if(spec.filters.begin(), spec.filters.end(), [&](const FilterSpec& f) {
        if (f.field.ends_with(".*")) {
          const auto prefix = std::string_view(f.field).substr(0, f.field.size() - 1);
          return field.size() > prefix.size() && std::string_view(field).starts_with(prefix);
        }
        return f.field == field;
      });
      const std::string field_path =
          op.empty() ? fmt::format("[filter][{}]", field) : fmt::format("[filter][{}][{}]", field, op);
      if (spec_it == spec.filters.end()) {
        problems.push_back(
            query_problem(field_path, Rule::invalid, fmt::format("[{}] is not a supported filter field", field)));
        continue;
      }
      const FilterSpec& f = *spec_it;
      if (op.empty()) op = "eq";
      if (std::find(f.operators.begin(), f.operators.end(), op) == f.operators.end()) {
        problems.push_back(
            query_problem(field_path, Rule::invalid, fmt::format("[{}] is not a supported filter operation", op)));
        continue;
      }
      FilterTerm term{field, op, {}};
      term.values = (op == "oeq" || op == "ocontains") ? split_csv(value) : std::vector<std::string>{value};
      if (op == "exists" && value != "true" && value != "false" && !value.empty()) {
        problems.push_back(query_problem(field_path, Rule::is_boolean, "must be true or false"));
        continue;
      }
      bool ok = true;
      for (const auto& v : term.values) {
        if (f.kind == FilterKind::boolean && v != "true" && v != "false") {
          problems.push_back(query_problem(field_path, Rule::is_boolean, "must be true or false"));
          ok = false;
        } else if (f.kind == FilterKind::uuid && !schema::is_uuid(v)) {
          problems.push_back(query_problem(field_path, Rule::is_uuid, "must be a valid UUID"));
          ok = false;
        } else if (f.kind == FilterKind::enumeration &&
                   std::find(f.choices.begin(), f.choices.end(), v) == f.choices.end()) {
          InvalidParameter p =
              query_problem(field_path, Rule::enum_, fmt::format("must be one of [{}]", fmt::join(f.choices, ", ")));
          for (const auto& c : f.choices) p.choices.emplace_back(c);
          problems.push_back(std::move(p));
          ok = false;
        }
        if (!ok) break;
      }
      if (ok) q.filters.push_back(std::move(term));
      continue;
    }
    // Other parameters are not part of the list contract and are ignored, as HTTP APIs do.
  }
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems), "Invalid query parameters.");
  return q;
}

}  // namespace ok::api
