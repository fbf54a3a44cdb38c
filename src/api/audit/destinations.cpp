// /v2/audit-log-destinations: create, list (cursor pages, filter[name]), read, change, delete;
// a destination the webhook names is not deleted (409). Storage: audit/destinations.hpp.

#include "api/audit/destinations.hpp"

#include "api/app.hpp"
#include "api/audit/common.hpp"
#include "api/responses.hpp"
#include "audit/destinations.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>

namespace ok::api::audit {
namespace {

namespace bj = boost::json;
using errors::Rule;
using errors::Source;
using schema::Field;
using schema::Kind;

constexpr std::int64_t kDefaultPageSize = 10;
constexpr std::int64_t kMaxPageSize = 100;
constexpr std::string_view kPath = "/v2/audit-log-destinations";

const schema::ObjectSchema& destination_schema() {
  static const schema::ObjectSchema s{{
      Field{.name = "name", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 255},
      Field{.name = "endpoint",
            .kind = Kind::string,
            .required = true,
            .min_length = 1,
            .max_length = 2048,
            .check = http_url_check,
            .check_is_whole_value = true},
      Field{.name = "authorization", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 4096},
      Field{.name = "log_format", .kind = Kind::enumeration, .required = true, .choices = {"cef", "json", "cps"}},
      Field{.name = "skip_ssl_verification", .kind = Kind::boolean},
      Field{.name = "id", .read_only = true},
      Field{.name = "created_at", .read_only = true},
      Field{.name = "updated_at", .read_only = true},
  }};
  return s;
}

bj::object destination_json(const bj::object& stored) {
  return {{"id", stored.at("id")},
          {"name", stored.at("name")},
          {"endpoint", stored.at("endpoint")},
          {"log_format", stored.at("log_format")},
          {"skip_ssl_verification", stored.at("skip_ssl_verification")},
          {"created_at", format_time(stored.at("created_at").to_number<std::int64_t>())},
          {"updated_at", format_time(stored.at("updated_at").to_number<std::int64_t>())}};
}

// Replaces the organization's destinations with what `change` makes of them, atomically with
// reading them; `change` throws to refuse. Retried while another request changed them between
// the read and the write.
template <typename Change>
void change_destinations(RequestContext& ctx, Change change) {
  auto& store = ctx.store().audit();
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto current = ok::audit::stored_destinations(store, ctx.org());
    change(current.items);
    if (store.put_setting_if(ctx.org(), ok::audit::kDestinationsSetting, bj::serialize(current.items),
                             [&](const std::optional<std::string>& now) { return now == current.json; })) {
      return;
    }
  }
  throw errors::ApiError::unavailable("Audit log destinations are being changed by other requests; retry later.");
}

void refuse_taken_name(const bj::array& items, const bj::string& name, std::string_view except_id) {
  for (const auto& item : items) {
    const auto& o = item.as_object();
    if (o.at("name") == name && o.at("id").as_string() != except_id) {
      throw errors::ApiError::conflict(
          fmt::format("An audit log destination named '{}' already exists.", name.c_str()));
    }
  }
}

bj::object* find_mutable(bj::array& items, std::string_view id) {
  for (auto& item : items) {
    if (item.as_object().at("id").as_string() == id) return &item.as_object();
  }
  return nullptr;
}

std::string webhook_destination(RequestContext& ctx) {
  const auto json = ctx.store().audit().setting(ctx.org(), "webhook");
  if (!json) return {};
  boost::system::error_code ec;
  const auto webhook = bj::parse(*json, ec);
  if (ec || !webhook.is_object()) return {};
  const auto* id = webhook.as_object().if_contains("audit_log_destination_id");
  return id && id->is_string() ? std::string(id->as_string()) : std::string();
}

http::Response create_destination(RequestContext& ctx) {
  require_audit_admin(ctx);
  auto body = ctx.validated_body(destination_schema(), schema::Mode::create);
  const auto now = util::now_ms();
  body["id"] = util::new_uuid();
  if (!body.contains("skip_ssl_verification")) body["skip_ssl_verification"] = false;
  body["created_at"] = now;
  body["updated_at"] = now;
  change_destinations(ctx, [&](bj::array& items) {
    refuse_taken_name(items, body.at("name").as_string(), "");
    if (items.size() >= ok::audit::kMaxDestinations) {
      throw errors::ApiError::conflict(
          fmt::format("An organization has at most {} audit log destinations.", ok::audit::kMaxDestinations));
    }
    items.push_back(body);
  });
  return json_response(201, destination_json(body));
}

http::Response get_destination(RequestContext& ctx) {
  require_audit_admin(ctx);
  const auto& id = ctx.path_id("auditLogDestinationId");
  const auto stored = ok::audit::stored_destinations(ctx.store().audit(), ctx.org());
  const auto* destination = ok::audit::find_destination(stored.items, id);
  if (!destination) throw errors::ApiError::not_found();
  return json_response(200, destination_json(*destination));
}

http::Response update_destination(RequestContext& ctx) {
  require_audit_admin(ctx);
  const auto& id = ctx.path_id("auditLogDestinationId");
  const auto body = ctx.validated_body(destination_schema(), schema::Mode::update);
  bj::object updated;
  change_destinations(ctx, [&](bj::array& items) {
    auto* destination = find_mutable(items, id);
    if (!destination) throw errors::ApiError::not_found();
    if (const auto* name = body.if_contains("name")) refuse_taken_name(items, name->as_string(), id);
    for (const auto& [key, value] : body) (*destination)[key] = value;
    (*destination)["updated_at"] = util::now_ms();
    updated = *destination;
  });
  return json_response(200, destination_json(updated));
}

http::Response delete_destination(RequestContext& ctx) {
  require_audit_admin(ctx);
  const auto& id = ctx.path_id("auditLogDestinationId");
  change_destinations(ctx, [&](bj::array& items) {
    const auto it = std::find_if(items.begin(), items.end(),
                                 [&](const bj::value& item) { return item.as_object().at("id").as_string() == id; });
    if (it == items.end()) throw errors::ApiError::not_found();
    if (webhook_destination(ctx) == id) {
      throw errors::ApiError::conflict(
          "The audit log webhook sends to this destination; point it elsewhere before deleting it.");
    }
    items.erase(it);
  });
  return empty_response(204);
}

// --- the list

struct ListRequest {
  std::int64_t size = kDefaultPageSize;
  std::string after, before;  // destination ids
  std::string name_eq, name_contains;
  bool by_name = false, by_name_part = false;
};

ListRequest parse_list(const http::QueryParams& params) {
  ListRequest q;
  errors::InvalidParameters problems;
  const auto cursor = [&](const std::string& key, const std::string& value, std::string& into) {
    if (!util::base64url_decode(value, into) || into.empty() || into.size() > 64) {
      problems.push_back(
          {key, Rule::invalid, "is not a valid cursor; use a link of meta.next or meta.previous", Source::query});
    }
  };
  for (const auto& [key, value] : params) {
    if (key == "page[size]") {
      std::int64_t n = 0;
      const auto* end = value.data() + value.size();
      const auto [p, ec] = std::from_chars(value.data(), end, n);
      if (ec != std::errc() || p != end) {
        problems.push_back({key, Rule::is_integer, "must be an integer", Source::query});
      } else if (n < 1) {
        problems.push_back({key, Rule::min, "must be at least 1", Source::query, 1});
      } else if (n > kMaxPageSize) {
        problems.push_back(
            {key, Rule::max, fmt::format("must be at most {}", kMaxPageSize), Source::query, kMaxPageSize});
      } else {
        q.size = n;
      }
    } else if (key == "page[after]" && !value.empty()) {
      cursor(key, value, q.after);
    } else if (key == "page[before]" && !value.empty()) {
      cursor(key, value, q.before);
    } else if (key == "filter[name]" || key == "filter[name][eq]") {
      q.by_name = true;
      q.name_eq = value;
    } else if (key == "filter[name][contains]") {
      q.by_name_part = true;
      q.name_contains = value;
    } else if (key.starts_with("filter[")) {
      problems.push_back(
          {key, Rule::invalid, "is not a supported filter; use filter[name] or filter[name][contains]", Source::query});
    }
  }
  if (!q.after.empty() && !q.before.empty()) {
    problems.push_back({"page[before]", Rule::invalid, "cannot be used with page[after]", Source::query});
  }
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems));
  return q;
}

std::string link(const ListRequest& q, std::string_view cursor_key, std::string_view id) {
  const auto encode = [](std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); };
  auto out = fmt::format("{}?{}={}&page%5Bsize%5D={}", kPath, encode(cursor_key), util::base64url_encode(id), q.size);
  if (q.by_name) out += "&filter%5Bname%5D=" + encode(q.name_eq);
  if (q.by_name_part) out += "&filter%5Bname%5D%5Bcontains%5D=" + encode(q.name_contains);
  return out;
}

http::Response list_destinations(RequestContext& ctx) {
  require_audit_admin(ctx);
  const auto q = parse_list(ctx.request().query);
  const auto stored = ok::audit::stored_destinations(ctx.store().audit(), ctx.org());
  std::vector<const bj::object*> matching;  // in creation order
  for (const auto& item : stored.items) {
    const auto& o = item.as_object();
    const std::string_view name = o.at("name").as_string();
    if (q.by_name && name != q.name_eq) continue;
    if (q.by_name_part && name.find(q.name_contains) == std::string_view::npos) continue;
    matching.push_back(&o);
  }
  const auto position_of = [&](std::string_view id) {
    const auto it = std::find_if(matching.begin(), matching.end(),
                                 [&](const bj::object* o) { return o->at("id").as_string() == id; });
    if (it == matching.end()) {
      // The cursor's destination was deleted or is filtered out: the page it stood for is gone.
      throw errors::ApiError::bad_request(
          errors::InvalidParameter{q.after.empty() ? "page[before]" : "page[after]", Rule::invalid,
                                   "names a page that no longer exists; start from the first page", Source::query});
    }
    return static_cast<std::size_t>(it - matching.begin());
  };
  const auto size = static_cast<std::size_t>(q.size);
  std::size_t begin = 0;
  if (!q.after.empty()) begin = position_of(q.after) + 1;
  if (!q.before.empty()) {
    const auto end = position_of(q.before);
    begin = end > size ? end - size : 0;
  }
  const auto end = std::min(matching.size(), begin + size);
  bj::array data;
  for (auto i = begin; i < end; ++i) data.push_back(destination_json(*matching[i]));
  bj::object meta{{"size", q.size}, {"next", nullptr}, {"previous", nullptr}};
  if (end < matching.size()) meta["next"] = link(q, "page[after]", matching[end - 1]->at("id").as_string());
  if (begin > 0) meta["previous"] = link(q, "page[before]", matching[begin]->at("id").as_string());
  return json_response(200, bj::object{{"data", std::move(data)}, {"meta", std::move(meta)}});
}

}  // namespace

void register_destination_routes(App& app) {
  app.route("GET", std::string(kPath), list_destinations);
  app.route("POST", std::string(kPath), create_destination);
  app.route("GET", std::string(kPath) + "/{auditLogDestinationId}", get_destination);
  app.route("PATCH", std::string(kPath) + "/{auditLogDestinationId}", update_destination);
  app.route("DELETE", std::string(kPath) + "/{auditLogDestinationId}", delete_destination);
}

}  // namespace ok::api::audit
