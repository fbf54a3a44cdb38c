#pragma once
// What a handler sees: the request, its path parameters, the authenticated principal, and
// helpers that raise the contract's errors in the contract's order (path id 400 before
// 404 before 403 before body 400), so handlers stay thin and uniform.

#include "api/entity_cache.hpp"
#include "api/generation_cache.hpp"
#include "api/settings.hpp"
#include "auth/authenticator.hpp"
#include "auth/permissions.hpp"
#include "http/request.hpp"
#include "http/router.hpp"
#include "schema/validator.hpp"
#include "store/store.hpp"

#include <boost/json/value.hpp>
#include <optional>
#include <vector>

namespace ok::cluster {
class Hub;
}

namespace ok::api {

// The budgets a request was checked against, in order, with what each said.
using RateDecisions = std::vector<std::pair<const ratelimit::Policy*, ratelimit::Decision>>;

// Read caches, owned by the App: single entities, and rendered list pages (keyed by who may
// see what and the query; see control_planes/routes.cpp).
struct Caches {
  Caches(auth::Generations& generations, const Settings& settings)
      : control_planes(generations),
        users(generations),
        control_plane_pages(generations, kMaxPagesPerShard, (settings.list_cache_mib << 20) / kShards,
                            [](const std::string& body) { return body.size(); }) {}
  // GenerationCache's shard count: the byte budget is per shard. A page of 100 control planes
  // is about 40 KiB.
  static constexpr std::size_t kShards = GenerationCache<std::string>::kShards;
  static constexpr std::size_t kMaxPagesPerShard = 64;

  EntityCache<store::ControlPlane> control_planes;
  EntityCache<store::User> users;
  GenerationCache<std::string> control_plane_pages;
};

struct Services {
  store::Store& store;
  auth::Authenticator& authenticator;
  ratelimit::Limiter& limiter;
  const Settings& settings;
  Caches& caches;
  cluster::Hub* hub = nullptr;  // null where no data plane connects (tools, fuzzers)
};

class RequestContext {
 public:
  RequestContext(const http::Request& request, http::PathParams params, Services& services)
      : request_(request), params_(std::move(params)), services_(services) {}

  const http::Request& request() const { return request_; }
  store::Store& store() { return services_.store; }
  auth::Authenticator& authenticator() { return services_.authenticator; }
  const Settings& settings() const { return services_.settings; }
  Caches& caches() { return services_.caches; }
  // The data-plane hub, to tell it what changed; null when there is none.
  cluster::Hub* hub() { return services_.hub; }

  void set_principal(auth::Principal p) { principal_ = std::move(p); }
  bool authenticated() const { return principal_.has_value(); }
  const auth::Principal& principal() const { return *principal_; }
  const store::OrgId& org() const { return principal_->org; }

  // The raw value of a path parameter.
  const std::string& path_param(std::string_view name) const;
  // A path parameter that must be a UUID; otherwise 400 with source `path`.
  const std::string& path_id(std::string_view name) const;

  // The body as JSON: 415 unless Content-Type is JSON, 400 when it does not parse.
  boost::json::value json_body() const;
  // The body as a JSON object valid against `schema`: 415/400 as above, then one 400 that
  // lists every schema violation.
  boost::json::object validated_body(const schema::ObjectSchema& schema, schema::Mode mode) const;

  // Throws 403 naming the role needed when the principal may not perform `action`.
  void authorize(const auth::Action& action);
  // Spends one request of `policy` for `key`; 429 (with Retry-After) when over budget.
  void spend(const ratelimit::Policy& policy, const std::string& key);
  RateDecisions& rate_decisions() { return rate_; }

  // The principal's role assignments, loaded once per request.
  const std::vector<store::RoleAssignment>& roles();

 private:
  const http::Request& request_;
  http::PathParams params_;
  Services& services_;
  std::optional<auth::Principal> principal_;
  std::shared_ptr<const std::vector<store::RoleAssignment>> roles_;
  RateDecisions rate_;
};

}  // namespace ok::api
