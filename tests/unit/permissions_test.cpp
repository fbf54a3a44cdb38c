#include "auth/permissions.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using ok::auth::Action;
using ok::auth::can_read_all;
using ok::auth::decide;
using ok::auth::kAuditLogs;
using ok::auth::kControlPlanes;
using ok::auth::kIdentity;
using ok::auth::kOrganization;
using ok::auth::readable_ids;
using ok::auth::Verb;
using ok::store::RoleAssignment;
using Roles = std::vector<RoleAssignment>;

constexpr std::string_view kCpA = "11111111-1111-4111-8111-111111111111";
constexpr std::string_view kCpB = "22222222-2222-4222-8222-222222222222";

RoleAssignment role(std::string_view name, std::string_view entity_type, std::string_view entity_id = "*") {
  RoleAssignment r;
  r.id = "role-" + std::string(name);
  r.org_id = "org";
  r.principal_kind = "team";
  r.principal_id = "team-1";
  r.role_name = std::string(name);
  r.entity_type_name = std::string(entity_type);
  r.entity_id = std::string(entity_id);
  r.entity_region = "*";
  return r;
}

bool allowed(const Roles& roles, std::string_view type, Verb verb, std::string_view id = {}) {
  return decide(roles, Action{type, verb, id}).allowed;
}

std::string required(const Roles& roles, std::string_view type, Verb verb, std::string_view id = {}) {
  auto d = decide(roles, Action{type, verb, id});
  EXPECT_FALSE(d.allowed);
  return d.required_role;
}

constexpr Verb kAllVerbs[] = {Verb::read, Verb::create, Verb::update, Verb::remove};
constexpr std::string_view kAllTypes[] = {kControlPlanes, kIdentity, kAuditLogs};

TEST(Permissions, NoRolesAllowNothing) {
  for (auto type : kAllTypes) {
    for (auto verb : kAllVerbs) {
      EXPECT_FALSE(allowed({}, type, verb));
      EXPECT_FALSE(allowed({}, type, verb, kCpA));
    }
    EXPECT_FALSE(can_read_all({}, type));
    EXPECT_TRUE(readable_ids({}, type).empty());
  }
}

TEST(Permissions, OrganizationAdminAllowsEverything) {
  const Roles roles = {role("Admin", kOrganization)};
  for (auto type : kAllTypes) {
    for (auto verb : kAllVerbs) {
      EXPECT_TRUE(allowed(roles, type, verb)) << type;
      EXPECT_TRUE(allowed(roles, type, verb, kCpA)) << type;
    }
    EXPECT_TRUE(can_read_all(roles, type)) << type;
  }
  // Also entity types this module has no constant for yet.
  EXPECT_TRUE(allowed(roles, "API Products", Verb::remove, kCpA));
}

TEST(Permissions, OrganizationViewerIsReadOnly) {
  const Roles roles = {role("Viewer", kOrganization)};
  for (auto type : kAllTypes) {
    EXPECT_TRUE(allowed(roles, type, Verb::read)) << type;
    EXPECT_TRUE(allowed(roles, type, Verb::read, kCpA)) << type;
    EXPECT_TRUE(can_read_all(roles, type)) << type;
    EXPECT_FALSE(allowed(roles, type, Verb::create)) << type;
    EXPECT_FALSE(allowed(roles, type, Verb::update, kCpA)) << type;
    EXPECT_FALSE(allowed(roles, type, Verb::remove, kCpA)) << type;
  }
  EXPECT_EQ(required(roles, kControlPlanes, Verb::create), "Creator");
  EXPECT_EQ(required(roles, kControlPlanes, Verb::update, kCpA), "Admin");
  EXPECT_EQ(required(roles, kIdentity, Verb::create), "Admin");
}

TEST(Permissions, ControlPlanesCreatorMayOnlyCreate) {
  const Roles roles = {role("Creator", kControlPlanes)};
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::create));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::read));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::read, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::update, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::remove, kCpA));
  EXPECT_FALSE(can_read_all(roles, kControlPlanes));
  EXPECT_TRUE(readable_ids(roles, kControlPlanes).empty());
  EXPECT_EQ(required(roles, kControlPlanes, Verb::read, kCpA), "Viewer");
  EXPECT_EQ(required(roles, kControlPlanes, Verb::remove, kCpA), "Admin");
  // A control-plane role says nothing about identity.
  EXPECT_FALSE(allowed(roles, kIdentity, Verb::create));
}

TEST(Permissions, ControlPlanesAdminOnEveryControlPlane) {
  const Roles roles = {role("Admin", kControlPlanes, "*")};
  for (auto verb : kAllVerbs) {
    EXPECT_TRUE(allowed(roles, kControlPlanes, verb));
    EXPECT_TRUE(allowed(roles, kControlPlanes, verb, kCpA));
    EXPECT_TRUE(allowed(roles, kControlPlanes, verb, kCpB));
  }
  EXPECT_TRUE(can_read_all(roles, kControlPlanes));
  EXPECT_FALSE(can_read_all(roles, kIdentity));
  EXPECT_FALSE(allowed(roles, kIdentity, Verb::read));
  EXPECT_EQ(required(roles, kIdentity, Verb::read), "Admin");
}

TEST(Permissions, ControlPlanesAdminScopedToOneId) {
  const Roles roles = {role("Admin", kControlPlanes, kCpA)};
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::read, kCpA));
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::update, kCpA));
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::remove, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::read, kCpB));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::update, kCpB));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::remove, kCpB));
  // A role on one entity does not cover the collection.
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::create));
  EXPECT_EQ(required(roles, kControlPlanes, Verb::create), "Creator");
  EXPECT_EQ(required(roles, kControlPlanes, Verb::read, kCpB), "Viewer");
  EXPECT_EQ(required(roles, kControlPlanes, Verb::update, kCpB), "Admin");
  EXPECT_FALSE(can_read_all(roles, kControlPlanes));
  EXPECT_EQ(readable_ids(roles, kControlPlanes), (std::vector<std::string>{std::string(kCpA)}));
}

TEST(Permissions, ControlPlanesViewerReads) {
  const Roles scoped = {role("Viewer", kControlPlanes, kCpA)};
  EXPECT_TRUE(allowed(scoped, kControlPlanes, Verb::read, kCpA));
  EXPECT_FALSE(allowed(scoped, kControlPlanes, Verb::read, kCpB));
  EXPECT_FALSE(allowed(scoped, kControlPlanes, Verb::update, kCpA));
  EXPECT_FALSE(allowed(scoped, kControlPlanes, Verb::remove, kCpA));
  EXPECT_EQ(required(scoped, kControlPlanes, Verb::update, kCpA), "Admin");
  EXPECT_EQ(readable_ids(scoped, kControlPlanes), (std::vector<std::string>{std::string(kCpA)}));
  EXPECT_FALSE(can_read_all(scoped, kControlPlanes));

  const Roles all = {role("Viewer", kControlPlanes, "*")};
  EXPECT_TRUE(allowed(all, kControlPlanes, Verb::read));
  EXPECT_TRUE(allowed(all, kControlPlanes, Verb::read, kCpB));
  EXPECT_FALSE(allowed(all, kControlPlanes, Verb::create));
  EXPECT_TRUE(can_read_all(all, kControlPlanes));
  EXPECT_TRUE(readable_ids(all, kControlPlanes).empty());  // `*` is can_read_all's business
}

TEST(Permissions, UnknownRoleOnAnIdGrantsReadOnly) {
  const Roles roles = {role("Gateway Service Admin", kControlPlanes, kCpA)};
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::read, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::read, kCpB));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::update, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::remove, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::create));
  EXPECT_EQ(readable_ids(roles, kControlPlanes), (std::vector<std::string>{std::string(kCpA)}));
  EXPECT_FALSE(can_read_all(roles, kControlPlanes));
}

TEST(Permissions, RolesCombine) {
  const Roles roles = {role("Creator", kControlPlanes), role("Viewer", kControlPlanes, kCpA),
                       role("Admin", kControlPlanes, kCpB)};
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::create));
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::read, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::update, kCpA));
  EXPECT_TRUE(allowed(roles, kControlPlanes, Verb::update, kCpB));
  auto ids = readable_ids(roles, kControlPlanes);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{std::string(kCpA), std::string(kCpB)}));
  EXPECT_FALSE(can_read_all(roles, kControlPlanes));
}

TEST(Permissions, RoleOnAnotherEntityTypeDoesNotApply) {
  const Roles roles = {role("Admin", kIdentity), role("Admin", kAuditLogs)};
  EXPECT_TRUE(allowed(roles, kIdentity, Verb::remove, kCpA));
  EXPECT_TRUE(allowed(roles, kAuditLogs, Verb::read));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::read, kCpA));
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::create));
  EXPECT_FALSE(can_read_all(roles, kControlPlanes));
  EXPECT_TRUE(readable_ids(roles, kControlPlanes).empty());
  // The same id under another type is not a control-plane role.
  const Roles other = {role("Admin", kIdentity, kCpA)};
  EXPECT_FALSE(allowed(other, kControlPlanes, Verb::read, kCpA));
  EXPECT_TRUE(readable_ids(other, kControlPlanes).empty());
}

TEST(Permissions, UnknownOrganizationRoleGrantsNothing) {
  const Roles roles = {role("Owner", kOrganization)};
  EXPECT_FALSE(allowed(roles, kControlPlanes, Verb::update, kCpA));
  EXPECT_FALSE(allowed(roles, kIdentity, Verb::create));
}

TEST(Permissions, RequiredRoleInDenials) {
  EXPECT_EQ(required({}, kControlPlanes, Verb::create), "Creator");
  EXPECT_EQ(required({}, kControlPlanes, Verb::read), "Viewer");
  EXPECT_EQ(required({}, kControlPlanes, Verb::read, kCpA), "Viewer");
  EXPECT_EQ(required({}, kControlPlanes, Verb::update, kCpA), "Admin");
  EXPECT_EQ(required({}, kControlPlanes, Verb::remove, kCpA), "Admin");
  EXPECT_EQ(required({}, kIdentity, Verb::read), "Admin");
  EXPECT_EQ(required({}, kAuditLogs, Verb::update), "Admin");
}

TEST(Permissions, AllowedDecisionNamesNoRole) {
  auto d = decide({role("Admin", kOrganization)}, Action{kControlPlanes, Verb::create, {}});
  EXPECT_TRUE(d.allowed);
  EXPECT_TRUE(d.required_role.empty());
}

}  // namespace
