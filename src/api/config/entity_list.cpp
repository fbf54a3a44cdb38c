#include "api/config/entity_list.hpp"

#include "api/list_query.hpp"
#include "errors/api_error.hpp"
#include "schema/typedefs.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <charconv>

namespace ok::api::config {
namespace {

using errors::InvalidParameter;
using errors::Rule;
using errors::Source;

constexpr std::int64_t kMaxPageSize = 1000;
constexpr std::size_t kMaxTags = 5;

InvalidParameter query_problem(std::string field, Rule rule, std::string reason,
                               std::optional<std::int64_t> limit = {}) {
  return {
      .field = std::move(field), .rule = rule, .reason = std::move(reason), .source = Source::query, .limit = limit};
}

void parse_size(const std::string& key, const std::string& value, std::int64_t& size, errors::InvalidParameters& out) {
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size()) {
    out.push_back(query_problem(key, Rule::is_integer, "must be an integer"));
  } else if (n < 1) {
    out.push_back(query_problem(key, Rule::min, "must be at least 1", 1));
  } else if (n > kMaxPageSize) {
    out.push_back(query_problem(key, Rule::max, fmt::format("must be at most {}", kMaxPageSize), kMaxPageSize));
  } else {
    size = n;
  }
}

void parse_tags(const std::string& value, store::TagFilter& filter, errors::InvalidParameters& out) {
  const bool all = value.find(',') != std::string::npos;
  const bool any = value.find('/') != std::string::npos;
  if (all && any) {
    out.push_back(query_problem("tags", Rule::invalid, "cannot mix ',' (all of) and '/' (any of) in one query"));
    return;
  }
  const char separator = any ? '/' : ',';
  std::vector<std::string> tags;
  std::size_t start = 0;
  while (true) {
    const auto at = value.find(separator, start);
    tags.push_back(value.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  if (tags.size() > kMaxTags) {
    out.push_back(
        query_problem("tags", Rule::max_items, fmt::format("cannot query more than {} tags", kMaxTags), kMaxTags));
    return;
  }
  for (const auto& t : tags) {
    if (t.empty()) {
      out.push_back(query_problem("tags", Rule::invalid, "must not contain an empty tag"));
      return;
    }
    if (auto problem = schema::typedefs::tag_problem(t)) {
      out.push_back(query_problem("tags", problem->rule, problem->reason));
      return;
    }
  }
  filter.tags = std::move(tags);
  filter.any = any;
}

// Percent-encodes a query component (RFC 3986 unreserved characters stay).
std::string encode_component(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace

std::string encode_offset(const std::string& id) { return util::base64url_encode(id); }

EntityListQuery parse_entity_list_query(const http::QueryParams& params, const ConfigEntity& type) {
  EntityListQuery q;
  q.store.type = type.def.name;
  errors::InvalidParameters problems;
  bool size_given = false;
  std::int64_t ui_page_size = 0;
  for (const auto& [key, value] : params) {
    if (key == "size") {
      if (value.empty()) continue;
      size_given = true;
      parse_size(key, value, q.store.size, problems);
    } else if (key == "page[size]") {
      // Kong's UI components send page[size] with their searches; honoured when size is absent.
      if (!value.empty()) parse_size(key, value, ui_page_size, problems);
    } else if (key == "offset") {
      if (value.empty()) continue;  // allowEmptyValue: the first page
      std::string id;
      if (!util::base64url_decode(value, id) || !schema::is_uuid(id)) {
        problems.push_back(query_problem("offset", Rule::invalid,
                                         "is not a valid offset; use the value of the previous page's offset"));
      } else {
        q.store.after_id = id;
      }
    } else if (key == "tags") {
      if (!value.empty()) parse_tags(value, q.store.tags, problems);
    } else if (key.starts_with("filter")) {
      std::string field;
      std::string op;
      if (!split_filter_key(key, field, op)) {
        problems.push_back(query_problem(key, Rule::invalid, "is not a valid filter parameter"));
        continue;
      }
      const std::string path =
          op.empty() ? fmt::format("[filter][{}]", field) : fmt::format("[filter][{}][{}]", field, op);
      const auto it = std::find_if(type.name_filters.begin(), type.name_filters.end(),
                                   [&](const auto& f) { return f.first == field; });
      if (it == type.name_filters.end()) {
        problems.push_back(
            query_problem(path, Rule::invalid, fmt::format("[{}] is not a supported filter field", field)));
        continue;
      }
      if (op.empty()) op = "eq";
      if (op != "eq" && op != "contains") {
        problems.push_back(
            query_problem(path, Rule::invalid, fmt::format("[{}] is not a supported filter operation", op)));
        continue;
      }
      q.store.filters.push_back(
          {it->second, op == "eq" ? store::FieldFilter::Op::eq : store::FieldFilter::Op::contains, value});
    } else if (std::find(type.query_filters.begin(), type.query_filters.end(), key) != type.query_filters.end()) {
      q.store.filters.push_back({key, store::FieldFilter::Op::eq, value});
    }
    // Anything else (page[number], sort_by …) is not part of these lists and is ignored.
  }
  if (!size_given && ui_page_size > 0) q.store.size = ui_page_size;
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems), "Invalid query parameters.");
  return q;
}

std::string render_list_page(const http::Request& request, const std::vector<std::string>& bodies,
                             const std::string& last_id) {
  std::string out = "{\"data\":[";
  std::size_t total = 0;
  for (const auto& b : bodies) total += b.size() + 1;
  out.reserve(total + 256);
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    if (i) out += ',';
    out += bodies[i];
  }
  out += ']';
  if (last_id.empty()) {
    // The last page has neither `offset` (go-kong loops while it is there) nor `next` (the
    // spec's schema has it as a string, so "null" would not validate).
    out += '}';
    return out;
  }
  const auto offset = encode_offset(last_id);
  std::string next = request.path;
  next.append("?offset=").append(offset);
  for (const auto& [key, value] : request.query) {
    if (key == "offset") continue;
    next.append("&").append(encode_component(key)).append("=").append(encode_component(value));
  }
  out += ",\"next\":";
  out += boost::json::serialize(boost::json::string(next));
  out.append(",\"offset\":\"").append(offset).append("\"}");
  return out;
}

}  // namespace ok::api::config
