#include "http/router.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using Router = ok::http::Router<int>;
using Outcome = Router::Outcome;

std::string param(const Router::Match& m, std::string_view name) {
  for (const auto& [k, v] : m.params) {
    if (k == name) return v;
  }
  return "<missing>";
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

Router control_plane_routes() {
  Router r;
  r.add("GET", "/v2/control-planes", 1);
  r.add("POST", "/v2/control-planes", 2);
  r.add("GET", "/v2/control-planes/{controlPlaneId}", 3);
  r.add("PATCH", "/v2/control-planes/{controlPlaneId}", 4);
  r.add("DELETE", "/v2/control-planes/{controlPlaneId}", 5);
  r.add("GET", "/v3/users/me", 6);
  r.add("GET", "/v3/organizations/me", 7);
  return r;
}

TEST(Router, MatchesLiteralPaths) {
  auto r = control_plane_routes();
  auto m = r.match("GET", "/v2/control-planes");
  ASSERT_EQ(m.outcome, Outcome::matched);
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->handler, 1);
  EXPECT_EQ(m.route->path_template, "/v2/control-planes");
  EXPECT_EQ(m.route->method, "GET");
  EXPECT_TRUE(m.params.empty());

  m = r.match("POST", "/v2/control-planes");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 2);

  m = r.match("GET", "/v3/organizations/me");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 7);
}

TEST(Router, CapturesParamByName) {
  auto r = control_plane_routes();
  auto m = r.match("PATCH", "/v2/control-planes/9b1c3f4e-0000-4000-8000-000000000001");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 4);
  EXPECT_EQ(m.route->path_template, "/v2/control-planes/{controlPlaneId}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "controlPlaneId");
  EXPECT_EQ(m.params[0].second, "9b1c3f4e-0000-4000-8000-000000000001");
}

TEST(Router, ParamMatchesAnyNonEmptySegmentText) {
  auto r = control_plane_routes();
  // Not a UUID: the router only routes; validating the id is the handler's job.
  auto m = r.match("GET", "/v2/control-planes/not-a-uuid");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(param(m, "controlPlaneId"), "not-a-uuid");
}

TEST(Router, EmptySegmentDoesNotMatchParam) {
  Router r;
  r.add("GET", "/a/{id}/b", 1);
  EXPECT_EQ(r.match("GET", "/a//b").outcome, Outcome::not_found);
}

TEST(Router, UnknownPathIsNotFound) {
  auto r = control_plane_routes();
  auto m = r.match("GET", "/v2/unknown");
  EXPECT_EQ(m.outcome, Outcome::not_found);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.allowed_methods.empty());

  EXPECT_EQ(r.match("GET", "/").outcome, Outcome::not_found);
  EXPECT_EQ(r.match("GET", "").outcome, Outcome::not_found);
  EXPECT_EQ(r.match("GET", "/v2").outcome, Outcome::not_found);  // an inner node with no routes
  EXPECT_EQ(r.match("GET", "/v2/control-planes/x/extra").outcome, Outcome::not_found);
  EXPECT_EQ(r.match("GET", "v2/control-planes").outcome, Outcome::not_found);  // no leading slash
}

TEST(Router, KnownPathWithOtherMethodIsMethodNotAllowed) {
  auto r = control_plane_routes();
  auto m = r.match("PUT", "/v2/control-planes/abc");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(sorted(m.allowed_methods), (std::vector<std::string>{"DELETE", "GET", "PATCH"}));

  m = r.match("DELETE", "/v2/control-planes");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(sorted(m.allowed_methods), (std::vector<std::string>{"GET", "POST"}));

  m = r.match("POST", "/v3/users/me");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_EQ(m.allowed_methods, (std::vector<std::string>{"GET"}));
}

TEST(Router, MethodIsCaseSensitive) {
  auto r = control_plane_routes();
  EXPECT_EQ(r.match("get", "/v2/control-planes").outcome, Outcome::method_not_allowed);
}

TEST(Router, TrailingSlashIsADistinctPath) {
  auto r = control_plane_routes();
  EXPECT_EQ(r.match("GET", "/v2/control-planes/").outcome, Outcome::not_found);
  EXPECT_EQ(r.match("GET", "/v3/users/me/").outcome, Outcome::not_found);
  EXPECT_EQ(r.match("GET", "/v2/control-planes/abc/").outcome, Outcome::not_found);

  Router with_slash;
  with_slash.add("GET", "/a/", 1);
  EXPECT_EQ(with_slash.match("GET", "/a/").outcome, Outcome::matched);
  EXPECT_EQ(with_slash.match("GET", "/a").outcome, Outcome::not_found);
}

TEST(Router, LiteralIsPreferredOverParam) {
  Router r;
  r.add("GET", "/v3/users/{userId}", 1);
  r.add("GET", "/v3/users/me", 2);  // added after the param route: order must not matter
  auto m = r.match("GET", "/v3/users/me");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 2);
  EXPECT_TRUE(m.params.empty());

  m = r.match("GET", "/v3/users/0f0e0d0c-0000-4000-8000-000000000000");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 1);
  EXPECT_EQ(param(m, "userId"), "0f0e0d0c-0000-4000-8000-000000000000");
}

TEST(Router, DeepPathsCaptureEveryParamInOrder) {
  Router r;
  r.add("GET", "/v2/control-planes/{controlPlaneId}/core-entities/services/{serviceId}/routes/{routeId}", 1);
  r.add("DELETE", "/v2/control-planes/{controlPlaneId}/core-entities/services/{serviceId}/routes/{routeId}", 2);
  r.add("GET", "/v2/control-planes/{controlPlaneId}/core-entities/services/{serviceId}", 3);
  auto m = r.match("GET", "/v2/control-planes/cp1/core-entities/services/svc2/routes/rt3");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 1);
  ASSERT_EQ(m.params.size(), 3u);
  EXPECT_EQ(m.params[0].first, "controlPlaneId");
  EXPECT_EQ(m.params[0].second, "cp1");
  EXPECT_EQ(m.params[1].first, "serviceId");
  EXPECT_EQ(m.params[1].second, "svc2");
  EXPECT_EQ(m.params[2].first, "routeId");
  EXPECT_EQ(m.params[2].second, "rt3");

  m = r.match("GET", "/v2/control-planes/cp1/core-entities/services/svc2");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 3);
  EXPECT_EQ(m.params.size(), 2u);

  m = r.match("PUT", "/v2/control-planes/cp1/core-entities/services/svc2/routes/rt3");
  EXPECT_EQ(m.outcome, Outcome::method_not_allowed);
  EXPECT_TRUE(m.params.empty());
  EXPECT_EQ(sorted(m.allowed_methods), (std::vector<std::string>{"DELETE", "GET"}));

  EXPECT_EQ(r.match("GET", "/v2/control-planes/cp1/core-entities/services").outcome, Outcome::not_found);
  EXPECT_EQ(r.match("GET", "/v2/control-planes/cp1/core-entities/plugins/p1").outcome, Outcome::not_found);
}

TEST(Router, KeepsEveryRegisteredRoute) {
  auto r = control_plane_routes();
  EXPECT_EQ(r.routes().size(), 7u);
}

// The header promises that a `{param}` segment "is captured by name". The Konnect config spec
// itself spells the same position differently in sibling templates
// (.../consumers/{ConsumerIdForNestedEntities}/acls next to .../consumers/{ConsumerId}); each
// match must report the name of the template it matched.
TEST(Router, ParamNameBelongsToTheMatchedTemplate) {
  Router r;
  r.add("GET", "/v2/control-planes/{controlPlaneId}/core-entities/consumers/{ConsumerIdForNestedEntities}/acls", 1);
  r.add("GET", "/v2/control-planes/{controlPlaneId}/core-entities/consumers/{ConsumerId}", 2);
  auto m = r.match("GET", "/v2/control-planes/cp/core-entities/consumers/c1/acls");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 1);
  EXPECT_EQ(param(m, "ConsumerIdForNestedEntities"), "c1");
  m = r.match("GET", "/v2/control-planes/cp/core-entities/consumers/c1");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 2);
  EXPECT_EQ(param(m, "ConsumerId"), "c1");
}

// "a segment in braces matches any one non-empty path segment": when a literal sibling
// exists but leads nowhere for the rest of the path, the param branch must still match.
TEST(Router, FallsBackToParamWhenLiteralBranchDeadEnds) {
  Router r;
  r.add("GET", "/v3/users/me", 1);
  r.add("GET", "/v3/users/{userId}/teams", 2);
  auto m = r.match("GET", "/v3/users/me/teams");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 2);
  EXPECT_EQ(param(m, "userId"), "me");
}

// The same gap with two real Konnect config templates: POST .../schemas/plugins/validate is
// validate-entity-schema with entityName=plugins; the literal `plugins` branch only has a GET.
TEST(Router, FallsBackToParamWhenLiteralBranchLacksTheMethod) {
  Router r;
  r.add("GET", "/v2/control-planes/{controlPlaneId}/core-entities/schemas/plugins/{pluginName}", 1);
  r.add("POST", "/v2/control-planes/{controlPlaneId}/core-entities/schemas/{entityName}/validate", 2);
  auto m = r.match("GET", "/v2/control-planes/cp/core-entities/schemas/plugins/rate-limiting");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 1);
  m = r.match("POST", "/v2/control-planes/cp/core-entities/schemas/plugins/validate");
  ASSERT_EQ(m.outcome, Outcome::matched);
  EXPECT_EQ(m.route->handler, 2);
  EXPECT_EQ(param(m, "entityName"), "plugins");
}

}  // namespace
