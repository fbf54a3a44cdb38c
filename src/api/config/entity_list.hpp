#pragma once
// Lists of gateway configuration entities, as the spec's core-entity lists take and answer them:
// `size` (1..1000, default 100), an opaque `offset` from the previous page, `tags` (`a,b` all,
// `a/b` any, at most 5), `filter[name][eq|contains]` where the entity has it, and plain
// equality parameters (`custom_id`). The answer is {data, next, offset}; on the last page only
// {data}: decK's client loops while `offset` is there, and the spec types `next` as a string.

#include "api/config/config_entity.hpp"
#include "http/request.hpp"
#include "store/entity_store.hpp"

#include <string>
#include <vector>

namespace ok::api::config {

struct EntityListQuery {
  store::EntityPageQuery store;
};

// 400 (source `query`) listing every problem.
EntityListQuery parse_entity_list_query(const http::QueryParams& params, const ConfigEntity& type);

// The page's JSON; `last_id` is the id the next page starts after ("" on the last page).
std::string render_list_page(const http::Request& request, const std::vector<std::string>& bodies,
                             const std::string& last_id);

std::string encode_offset(const std::string& id);

}  // namespace ok::api::config
