#include "cluster/version.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace {

using ok::cluster::KongVersion;
using ok::cluster::parse_kong_version;
using ok::cluster::version_incompatibility;

KongVersion v(int major, int minor, int patch, int build = 0) { return KongVersion{major, minor, patch, build}; }

TEST(KongVersionParse, ReadsThreePartVersions) {
  const auto p = parse_kong_version("3.10.0");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->major, 3);
  EXPECT_EQ(p->minor, 10);
  EXPECT_EQ(p->patch, 0);
  EXPECT_EQ(p->build, 0);
  EXPECT_EQ(p->str(), "3.10.0");
}

TEST(KongVersionParse, ReadsEnterpriseFourPartVersions) {
  const auto p = parse_kong_version("3.4.3.12");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, v(3, 4, 3, 12));
  EXPECT_EQ(p->str(), "3.4.3.12");

  const auto old = parse_kong_version("2.8.4.14");
  ASSERT_TRUE(old);
  EXPECT_EQ(*old, v(2, 8, 4, 14));
  EXPECT_EQ(old->str(), "2.8.4.14");
}

TEST(KongVersionParse, IgnoresASuffix) {
  const auto p = parse_kong_version("3.9.1-enterprise-edition");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, v(3, 9, 1));
  EXPECT_EQ(p->str(), "3.9.1");
  EXPECT_EQ(parse_kong_version("3.10.0rc1"), v(3, 10, 0));
  EXPECT_EQ(parse_kong_version("3.4.3.12-enterprise-edition"), v(3, 4, 3, 12));
}

TEST(KongVersionParse, RefusesWhatIsNotMajorMinorPatch) {
  for (const char* text : {"", "3", "3.", "3.10", "3.10.", "a.b.c", "3..0", "3.10..0", ".3.10.0", "v3.10.0", " 3.10.0",
                           "-3.10.0", "3.-1.0", "3.x.0", "enterprise"}) {
    EXPECT_FALSE(parse_kong_version(text).has_value()) << '"' << text << '"';
  }
}

TEST(KongVersionParse, RefusesHugeNumbers) {
  for (const char* text : {"99999999999999999999.0.0", "3.99999999999999999999.0", "3.10.99999999999999999999",
                           "3.4.3.99999999999999999999", "2147483648.0.0", "3.1234567.0"}) {
    EXPECT_FALSE(parse_kong_version(text).has_value()) << text;
  }
}

TEST(KongVersionParse, OrdersNumerically) {
  EXPECT_LT(*parse_kong_version("3.9.1"), *parse_kong_version("3.10.0"));
  EXPECT_LT(*parse_kong_version("3.4.3"), *parse_kong_version("3.4.3.1"));
  EXPECT_LT(*parse_kong_version("2.8.4.14"), *parse_kong_version("3.0.0"));
}

TEST(KongVersionParse, TheControlPlaneVersionParses) {
  const auto cp = parse_kong_version(ok::cluster::kControlPlaneKongVersion);
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->str(), ok::cluster::kControlPlaneKongVersion);
}

TEST(VersionIncompatibility, SameMajorOlderOrEqualMinorIsAccepted) {
  const auto cp = v(3, 10, 0);
  for (const char* dp : {"3.10.0", "3.10.5", "3.10.0.3", "3.9.1-enterprise-edition", "3.4.3.12", "3.0.0"}) {
    EXPECT_EQ(version_incompatibility(cp, parse_kong_version(dp)), "") << dp;
  }
}

TEST(VersionIncompatibility, NewerMinorIsRefusedNamingBothVersions) {
  const auto cp = v(3, 10, 0);
  const auto why = version_incompatibility(cp, parse_kong_version("3.11.2"));
  EXPECT_FALSE(why.empty());
  EXPECT_NE(why.find("3.11.2"), std::string::npos) << why;
  EXPECT_NE(why.find("3.10.0"), std::string::npos) << why;

  const auto older_cp = version_incompatibility(v(3, 4, 3, 12), parse_kong_version("3.5.0"));
  EXPECT_NE(older_cp.find("3.5.0"), std::string::npos) << older_cp;
  EXPECT_NE(older_cp.find("3.4.3.12"), std::string::npos) << older_cp;
}

TEST(VersionIncompatibility, OtherMajorIsRefusedNamingBothVersions) {
  const auto cp = v(3, 10, 0);
  for (const char* dp : {"2.8.4.14", "4.0.0", "2.99.0"}) {
    const auto why = version_incompatibility(cp, parse_kong_version(dp));
    EXPECT_FALSE(why.empty()) << dp;
    EXPECT_NE(why.find(dp), std::string::npos) << why;
    EXPECT_NE(why.find("3.10.0"), std::string::npos) << why;
  }
}

TEST(VersionIncompatibility, UnparsableIsRefused) {
  for (const char* dp : {"", "3.10", "a.b.c", "unknown"}) {
    EXPECT_FALSE(version_incompatibility(v(3, 10, 0), parse_kong_version(dp)).empty()) << dp;
  }
  EXPECT_FALSE(version_incompatibility(v(3, 10, 0), std::nullopt).empty());
}

}  // namespace
