#include "api/config/routes.hpp"

#include "api/app.hpp"
#include "api/control_planes/control_plane.hpp"
#include "api/responses.hpp"
#include "errors/api_error.hpp"

#include <charconv>

namespace ok::api::config {
namespace {

namespace bj = boost::json;

std::int64_t query_number(const http::QueryParams& query, std::string_view key, std::int64_t fallback,
                          std::int64_t max) {
  for (const auto& [k, v] : query) {
    if (k != key || v.empty()) continue;
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size() || n < 1 || n > max) {
      throw errors::ApiError::bad_request(
          errors::InvalidParameter{.field = std::string(key),
                                   .rule = errors::Rule::invalid,
                                   .reason = "must be an integer between 1 and " + std::to_string(max),
                                   .source = errors::Source::query},
          "Invalid query parameters.");
    }
    return n;
  }
  return fallback;
}

// decK finds a control plane's id by its name through Konnect's legacy runtime-groups list
// (GET /konnect-api/api/runtime_groups?page=N&size=M -> {data: [{id, name}], page, pageCount}),
// paging until page == pageCount. Served for decK only; see docs/API.md.
http::Response runtime_groups(RequestContext& ctx) {
  const auto& query = ctx.request().query;
  const auto size = query_number(query, "size", 100, 1000);
  const auto page = query_number(query, "page", 1, 1'000'000'000);
  store::ControlPlaneQuery q;
  q.page = {size, page};
  if (!auth::can_read_all(ctx.roles(), auth::kControlPlanes))
    q.visible_ids = auth::readable_ids(ctx.roles(), auth::kControlPlanes);
  const auto result = ctx.store().list_control_planes(ctx.org(), q);
  bj::array data;
  for (const auto& cp : result.items) data.push_back(bj::object{{"id", cp.id}, {"name", cp.name}});
  const auto page_count = std::max<std::int64_t>(1, (result.total + size - 1) / size);
  return json_response(200, bj::object{{"data", std::move(data)}, {"page", page}, {"pageCount", page_count}});
}

}  // namespace

void register_routes(App& app) {
  register_entity_routes(app);
  register_consumer_group_routes(app);
  register_schema_routes(app);
  app.route("GET", "/konnect-api/api/runtime_groups", runtime_groups);
}

}  // namespace ok::api::config
