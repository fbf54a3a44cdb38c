#include "api/data_planes/routes.hpp"

#include "api/app.hpp"
#include "api/config/export.hpp"
#include "api/responses.hpp"
#include "cluster/version.hpp"
#include "crypto/x509.hpp"
#include "errors/api_error.hpp"
#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <charconv>

namespace ok::api::data_planes {
namespace {

namespace bj = boost::json;
using auth::Verb;
using errors::Rule;
using errors::Source;

constexpr std::int64_t kDefaultPageSize = 100;
constexpr std::int64_t kMaxPageSize = 1000;
// Pins per control plane: a bound on what the cluster listener's lookups may have to try.
constexpr std::size_t kMaxCertificatesPerControlPlane = 1000;

store::ControlPlane load(RequestContext& ctx) {
  auto cp = ctx.store().get_control_plane(ctx.org(), ctx.path_id("controlPlaneId"));
  if (!cp) throw errors::ApiError::not_found("The requested control plane was not found.");
  return std::move(*cp);
}

// --- pinned client certificates

std::string certificate_problem(std::string_view pem) {
  if (pem.find("PRIVATE KEY") != std::string_view::npos) return "must be a certificate, not a private key";
  if (!crypto::identity_of_pem(pem)) return "must be a PEM-encoded X.509 certificate";
  return {};
}

const schema::ObjectSchema& certificate_schema() {
  static const schema::ObjectSchema s{{
      {.name = "cert", .kind = schema::Kind::string, .required = true, .max_length = 65536,
       .check = certificate_problem, .check_is_whole_value = true},
      {.name = "title", .kind = schema::Kind::string, .max_length = 256},
      {.name = "id", .read_only = true},
      {.name = "created_at", .read_only = true},
      {.name = "updated_at", .read_only = true},
  }};
  return s;
}

bj::object to_json(const store::DpCertificate& c) {
  bj::object o{{"id", c.id}, {"cert", c.cert}, {"created_at", c.created_at / 1000}, {"updated_at", c.updated_at / 1000}};
  if (c.title) o["title"] = *c.title;
  return o;
}

store::DpCertificate load_certificate(RequestContext& ctx, const store::Scope& scope) {
  auto c = ctx.store().data_planes().certificate(scope, ctx.path_id("certificateId"));
  if (!c) throw errors::ApiError::not_found("The requested DP client certificate was not found.");
  return std::move(*c);
}

// The same certificate pinned twice to one control plane would be two names for one pin.
void refuse_duplicate(RequestContext& ctx, const store::Scope& scope, const store::DpCertificate& c) {
  for (const auto& other : ctx.store().data_planes().certificates(scope)) {
    if (other.id != c.id && other.fingerprint == c.fingerprint) {
      throw errors::ApiError::conflict(
          fmt::format("This certificate is already pinned to the control plane (certificate {}).", other.id));
    }
  }
}

void fill_from_body(store::DpCertificate& c, const bj::object& body) {
  c.cert = std::string(body.at("cert").as_string());
  c.title.reset();
  if (const auto* t = body.if_contains("title"); t && t->is_string()) c.title = std::string(t->get_string());
  const auto id = crypto::identity_of_pem(c.cert);
  c.fingerprint = id->sha256_hex;
  c.subject = id->subject_hex;
}

http::Response list_certificates(RequestContext& ctx) {
  auto cp = load(ctx);
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  bj::array items;
  for (const auto& c : ctx.store().data_planes().certificates(store::Scope::of(cp))) items.push_back(to_json(c));
  const auto total = static_cast<std::int64_t>(items.size());
  return json_response(200, bj::object{{"items", std::move(items)}, {"page", bj::object{{"total_count", total}}}});
}

http::Response create_certificate(RequestContext& ctx) {
  auto cp = load(ctx);
  ctx.authorize({auth::kControlPlanes, Verb::update, cp.id});
  auto body = ctx.validated_body(certificate_schema(), schema::Mode::create);
  const auto scope = store::Scope::of(cp);
  if (ctx.store().data_planes().certificates(scope).size() >= kMaxCertificatesPerControlPlane) {
    throw errors::ApiError::conflict(
        fmt::format("A control plane holds at most {} pinned certificates.", kMaxCertificatesPerControlPlane));
  }
  store::DpCertificate c;
  c.id = util::new_uuid();
  fill_from_body(c, body);
  c.created_at = c.updated_at = util::now_ms();
  refuse_duplicate(ctx, scope, c);
  ctx.store().data_planes().put_certificate(scope, c);
  return json_response(201, bj::object{{"item", to_json(c)}});
}

http::Response get_certificate(RequestContext& ctx) {
  auto cp = load(ctx);
  auto c = load_certificate(ctx, store::Scope::of(cp));
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  return json_response(200, bj::object{{"item", to_json(c)}});
}

http::Response replace_certificate(RequestContext& ctx) {
  auto cp = load(ctx);
  const auto scope = store::Scope::of(cp);
  auto c = load_certificate(ctx, scope);
  ctx.authorize({auth::kControlPlanes, Verb::update, cp.id});
  auto body = ctx.validated_body(certificate_schema(), schema::Mode::create);
  const auto before = c.fingerprint;
  fill_from_body(c, body);
  c.updated_at = util::now_ms();
  refuse_duplicate(ctx, scope, c);
  ctx.store().data_planes().put_certificate(scope, c);
  if (before != c.fingerprint) {
    if (auto* hub = ctx.hub()) hub->certificate_removed(scope.org(), cp.id, before);
  }
  return json_response(200, bj::object{{"item", to_json(c)}});
}

http::Response delete_certificate(RequestContext& ctx) {
  auto cp = load(ctx);
  const auto scope = store::Scope::of(cp);
  auto c = load_certificate(ctx, scope);
  ctx.authorize({auth::kControlPlanes, Verb::update, cp.id});
  ctx.store().data_planes().remove_certificate(scope, c.id);
  // Data planes connected with it lose the right they connected with.
  if (auto* hub = ctx.hub()) hub->certificate_removed(scope.org(), cp.id, c.fingerprint);
  return empty_response(204);
}

// --- nodes

struct NodePageQuery {
  std::int64_t size = kDefaultPageSize;
  std::string after;
};

NodePageQuery parse_page(const http::QueryParams& params) {
  NodePageQuery q;
  errors::InvalidParameters problems;
  for (const auto& [key, value] : params) {
    if (key == "page[size]" && !value.empty()) {
      std::int64_t n = 0;
      const auto* end = value.data() + value.size();
      auto [p, ec] = std::from_chars(value.data(), end, n);
      if (ec != std::errc() || p != end) {
        problems.push_back({"page[size]", Rule::is_integer, "must be an integer", Source::query});
      } else if (n < 1) {
        problems.push_back({"page[size]", Rule::min, "must be at least 1", Source::query, 1});
      } else if (n > kMaxPageSize) {
        problems.push_back({"page[size]", Rule::max, fmt::format("must be at most {}", kMaxPageSize), Source::query,
                            kMaxPageSize});
      } else {
        q.size = n;
      }
    } else if (key == "page[after]" && !value.empty()) {
      std::string id;
      if (!util::base64url_decode(value, id) || id.empty() || id.size() > 64) {
        problems.push_back({"page[after]", Rule::invalid,
                            "is not a valid cursor; use the value of the previous page's page.next", Source::query});
      } else {
        q.after = id;
      }
    }
  }
  if (!problems.empty()) throw errors::ApiError::bad_request(std::move(problems));
  return q;
}

bj::object node_json(const store::DataPlaneNode& n) {
  bj::object o{{"id", n.id},
               {"version", n.version},
               {"hostname", n.hostname},
               {"last_ping", n.last_ping},
               {"type", n.type},
               {"config_hash", n.config_hash},
               {"created_at", n.created_at},
               {"updated_at", n.updated_at},
               {"sync_status", n.sync_status}};
  try {
    o["compatibility_status"] = bj::parse(n.compatibility);
    o["labels"] = bj::parse(n.labels);
    if (n.last_error != "null") o["last_error"] = bj::parse(n.last_error);
  } catch (const std::exception&) {
    // Written by this program from parsed JSON: unreadable only if the row was damaged.
  }
  if (n.cert_expiry) o["cert_details"] = bj::object{{"expiry_timestamp", *n.cert_expiry}};
  return o;
}

http::Response list_nodes(RequestContext& ctx) {
  auto cp = load(ctx);
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  const auto q = parse_page(ctx.request().query);
  auto page = ctx.store().data_planes().nodes(store::Scope::of(cp), q.size, q.after);
  bj::array items;
  for (const auto& n : page.items) items.push_back(node_json(n));
  bj::object meta{{"total_count", page.total}};
  meta["next"] = page.more ? bj::value(util::base64url_encode(page.items.back().id)) : bj::value(nullptr);
  return json_response(200, bj::object{{"items", std::move(items)}, {"page", std::move(meta)}});
}

// Kong's support policy: long-term-support lines (2.8, 3.4, 3.10) are supported longest; a data
// plane on any other line older than the control plane's previous minor is approaching (or
// past) the end of its support. The resolution names the closest LTS line to move to.
std::string eol_message(const cluster::KongVersion& v) {
  const cluster::KongVersion cp = *cluster::parse_kong_version(cluster::kControlPlaneKongVersion);
  const bool lts = (v.major == 2 && v.minor == 8) || (v.major == 3 && (v.minor == 4 || v.minor == 10));
  if (lts || (v.major == cp.major && v.minor + 1 >= cp.minor)) return {};
  const auto target = v.major < 3 || (v.major == 3 && v.minor < 4) ? "3.4" : "3.10";
  return fmt::format("Kong Gateway {}.{} is approaching or past the end of its support. Upgrade to the {} LTS line.",
                     v.major, v.minor, target);
}

http::Response list_eol_nodes(RequestContext& ctx) {
  auto cp = load(ctx);
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  const auto q = parse_page(ctx.request().query);
  bj::array items;
  std::string after = q.after;
  // Walk every node (a control plane has thousands at most) and page over the EOL ones.
  std::int64_t total = 0;
  std::string cursor;
  while (true) {
    auto page = ctx.store().data_planes().nodes(store::Scope::of(cp), kMaxPageSize, cursor);
    for (const auto& n : page.items) {
      const auto v = cluster::parse_kong_version(n.version);
      const auto message = v ? eol_message(*v) : std::string();
      if (message.empty()) continue;
      ++total;
      if (n.id > after && static_cast<std::int64_t>(items.size()) < q.size) {
        items.push_back(bj::object{{"node_id", n.id}, {"node_version", n.version}, {"message", message}});
      }
    }
    if (!page.more) break;
    cursor = page.items.back().id;
  }
  return json_response(200, bj::object{{"items", std::move(items)}, {"page", bj::object{{"total_count", total}}}});
}

store::DataPlaneNode load_node(RequestContext& ctx, const store::Scope& scope) {
  const auto& id = ctx.path_param("nodeId");
  auto n = ctx.store().data_planes().node(scope, util::to_lower(id));
  if (!n) throw errors::ApiError::not_found("The requested data plane node was not found.");
  return std::move(*n);
}

http::Response get_node(RequestContext& ctx) {
  auto cp = load(ctx);
  auto n = load_node(ctx, store::Scope::of(cp));
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  return json_response(200, bj::object{{"item", node_json(n)}});
}

http::Response delete_node(RequestContext& ctx) {
  auto cp = load(ctx);
  const auto scope = store::Scope::of(cp);
  auto n = load_node(ctx, scope);
  ctx.authorize({auth::kControlPlanes, Verb::update, cp.id});
  ctx.store().data_planes().remove_node(scope, n.id);
  return empty_response(204);
}

// --- the hash data planes must report when in sync

http::Response expected_config_hash(RequestContext& ctx) {
  auto cp = load(ctx);
  ctx.authorize({auth::kControlPlanes, Verb::read, cp.id});
  std::string hash = cluster::kEmptyHash;
  std::int64_t changed_at = cp.created_at / 1000;
  if (auto* hub = ctx.hub()) {
    auto current = hub->current(cp);
    if (current.payload) hash = current.payload->config_hash;
    changed_at = current.changed_at;
  } else {
    auto rendered = config::render_configuration(ctx.store(), cp);
    if (rendered.config_table) hash = cluster::make_payload(*rendered.config_table, 0)->config_hash;
  }
  return json_response(200, bj::object{{"expected_hash", hash},
                                       {"created_at", cp.created_at / 1000},
                                       {"updated_at", std::max(changed_at, cp.created_at / 1000)}});
}

}  // namespace

void register_routes(App& app) {
  const std::string cp = "/v2/control-planes/{controlPlaneId}";
  app.route("GET", cp + "/dp-client-certificates", list_certificates);
  app.route("POST", cp + "/dp-client-certificates", create_certificate);
  app.route("GET", cp + "/dp-client-certificates/{certificateId}", get_certificate);
  app.route("PUT", cp + "/dp-client-certificates/{certificateId}", replace_certificate);
  app.route("DELETE", cp + "/dp-client-certificates/{certificateId}", delete_certificate);
  app.route("GET", cp + "/nodes", list_nodes);
  app.route("GET", cp + "/nodes/eol", list_eol_nodes);
  app.route("GET", cp + "/nodes/{nodeId}", get_node);
  app.route("DELETE", cp + "/nodes/{nodeId}", delete_node);
  app.route("GET", cp + "/expected-config-hash", expected_config_hash);
}

}  // namespace ok::api::data_planes
