#pragma once
// Parsing of list query parameters shared by every collection: numbered pages
// (`page[size]`, `page[number]`), deepObject filters (`filter[field][op]=v`, the bare
// `filter[field]=v` meaning `eq`), `sort=field[ desc]` and Konnect's `labels=k:v,k2`.
// Every problem is reported at once as a 400 with source `query`; an unsupported filter
// field or operator is an error, never silently ignored.

#include "http/request.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ok::api {

enum class FilterKind { string, uuid, boolean, enumeration };

struct FilterSpec {
  std::string field;
  FilterKind kind = FilterKind::string;
  std::vector<std::string> operators;  // e.g. {"eq", "neq", "contains", "oeq"}
  std::vector<std::string> choices;    // for enumeration
};

struct ListSpec {
  std::vector<FilterSpec> filters;
  std::vector<std::string> sort_fields;  // empty: `sort` is not accepted
  bool labels = false;
  std::int64_t default_page_size = 100;
  std::int64_t max_page_size = 1000;
};

struct FilterTerm {
  std::string field;
  std::string op;                   // eq, neq, contains, oeq, ocontains
  std::vector<std::string> values;  // oeq/ocontains: the comma-separated list; else one value
};

struct ListQuery {
  std::int64_t page_size = 100;
  std::int64_t page_number = 1;
  std::optional<std::string> sort_field;
  bool sort_descending = false;
  std::vector<FilterTerm> filters;
  std::vector<std::pair<std::string, std::optional<std::string>>> labels;
};

// Throws errors::ApiError (400) listing every invalid parameter.
ListQuery parse_list_query(const http::QueryParams& params, const ListSpec& spec);

// "filter[name][contains]" -> {"name", "contains"}; "filter[name]" -> {"name", ""}; false when
// the key is not of that form.
bool split_filter_key(std::string_view key, std::string& field, std::string& op);

}  // namespace ok::api
