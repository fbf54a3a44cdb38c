#include "schema/typedefs.hpp"

#include "schema/entity_validator.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace {

namespace bj = boost::json;
using ok::errors::InvalidParameters;
using ok::errors::Rule;
using ok::schema::Problem;
using ok::schema::RecordDef;
namespace typedefs = ok::schema::typedefs;

std::string dump(const InvalidParameters& problems) {
  std::string out;
  for (const auto& p : problems)
    out += p.field + " [" + std::string(ok::errors::rule_name(p.rule)) + "] " + p.reason + "\n";
  return out;
}

// Expects a problem with `rule` whose reason is exactly `reason`.
void expect_problem(const std::optional<Problem>& problem, Rule rule, std::string_view reason) {
  ASSERT_TRUE(problem.has_value()) << "expected: " << reason;
  EXPECT_EQ(problem->rule, rule) << problem->reason;
  EXPECT_EQ(problem->reason, reason);
}

// Runs a one-field record over `json` and returns the problems.
InvalidParameters problems_of(const RecordDef& record, std::string_view json) {
  InvalidParameters problems;
  ok::schema::process_record(bj::parse(json).as_object(), record, "", problems, nullptr);
  return problems;
}

// Expects exactly one problem, on `field`, and returns its reason.
std::string only_reason(const InvalidParameters& problems, std::string_view field) {
  EXPECT_EQ(problems.size(), 1u) << dump(problems);
  if (problems.size() != 1) return {};
  EXPECT_EQ(problems.front().field, field) << dump(problems);
  return problems.front().reason;
}

// ---------------------------------------------------------------- host_problem

TEST(Typedefs, HostAcceptsNamesAndAddressesWithoutPort) {
  EXPECT_FALSE(typedefs::host_problem("example.com"));
  EXPECT_FALSE(typedefs::host_problem("localhost"));
  EXPECT_FALSE(typedefs::host_problem("10.0.0.1"));
  EXPECT_FALSE(typedefs::host_problem("::1"));
  EXPECT_FALSE(typedefs::host_problem("2001:db8::1"));
}

TEST(Typedefs, HostRefusesPortsAndBadNames) {
  expect_problem(typedefs::host_problem("example.com:80"), Rule::invalid, "must not have a port");
  expect_problem(typedefs::host_problem("10.0.0.1:80"), Rule::invalid, "must not have a port");
  expect_problem(typedefs::host_problem("[::1]:80"), Rule::invalid, "must not have a port");
  // A port out of range is still "a port", not a bad name.
  expect_problem(typedefs::host_problem("example.com:70000"), Rule::invalid, "must not have a port");
  expect_problem(typedefs::host_problem("bad host"), Rule::invalid, "invalid value: bad host");
  expect_problem(typedefs::host_problem("256.1.1.1"), Rule::invalid, "invalid value: 256.1.1.1");
}

// ---------------------------------------------------------------- path_problem

TEST(Typedefs, PathAcceptsRfc3986Characters) {
  EXPECT_FALSE(typedefs::path_problem("/"));
  EXPECT_FALSE(typedefs::path_problem("/a-b_c.d~e/f:g@h!$&'()*+,;="));
  EXPECT_FALSE(typedefs::path_problem("/caf%C3%A9"));
  EXPECT_FALSE(typedefs::path_problem("/%41"));
}

TEST(Typedefs, PathRefusesWhatKongRefuses) {
  expect_problem(typedefs::path_problem("users"), Rule::matches_regex, "should start with: /");
  expect_problem(typedefs::path_problem("/a//b"), Rule::invalid, "must not have empty segments");
  expect_problem(typedefs::path_problem("/a b"), Rule::matches_regex,
                 "invalid path: '/a b' (characters outside of the reserved list of RFC 3986 found)");
  expect_problem(typedefs::path_problem("/users/{id}"), Rule::matches_regex,
                 "invalid path: '/users/{id}' (characters outside of the reserved list of RFC 3986 found)");
  expect_problem(typedefs::path_problem("/a%zz"), Rule::invalid, "invalid url-encoded value: '%zz'");
  expect_problem(typedefs::path_problem("/a%2"), Rule::invalid, "invalid url-encoded value: '%2'");
  expect_problem(typedefs::path_problem("/a%"), Rule::invalid, "invalid url-encoded value: '%'");
}

// ---------------------------------------------------------------- normalize_path

TEST(Typedefs, NormalizePath) {
  EXPECT_EQ(typedefs::normalize_path(""), "");
  EXPECT_EQ(typedefs::normalize_path("/"), "/");
  EXPECT_EQ(typedefs::normalize_path("/a/b"), "/a/b");
  EXPECT_EQ(typedefs::normalize_path("/a/./b"), "/a/b");
  EXPECT_EQ(typedefs::normalize_path("/a/../b"), "/b");
  EXPECT_EQ(typedefs::normalize_path("/a/b/../../c"), "/c");
  EXPECT_EQ(typedefs::normalize_path("/../a"), "/a");  // cannot climb above the root
  EXPECT_EQ(typedefs::normalize_path("/a/b/.."), "/a/");
  EXPECT_EQ(typedefs::normalize_path("/a/."), "/a/");
  EXPECT_EQ(typedefs::normalize_path("/a//b"), "/a/b");
  // Dots are decoded before dot segments are removed, so an encoded ".." climbs too.
  EXPECT_EQ(typedefs::normalize_path("/%2e%2e/a"), "/a");
  // Unreserved characters are decoded; reserved ones stay encoded, with upper-case hex.
  EXPECT_EQ(typedefs::normalize_path("/%7Ea"), "/~a");
  EXPECT_EQ(typedefs::normalize_path("/%41%62"), "/Ab");
  EXPECT_EQ(typedefs::normalize_path("/a%2fb"), "/a%2Fb");
  EXPECT_EQ(typedefs::normalize_path("/a%3F"), "/a%3F");
  // A trailing slash means something to a prefix match and is kept.
  EXPECT_EQ(typedefs::normalize_path("/a/"), "/a/");
}

TEST(Typedefs, NormalizePathIsIdempotent) {
  for (const char* path : {"/a/../b", "/%7Ea", "/a%2fb/./c", "/x//y/..", "/a/b/c/../../d"}) {
    const auto once = typedefs::normalize_path(path);
    EXPECT_EQ(typedefs::normalize_path(once), once) << path;
  }
}

// ---------------------------------------------------------------- router_path_problem

TEST(Typedefs, RouterPrefixPathMustBeNormalized) {
  EXPECT_FALSE(typedefs::router_path_problem("/"));
  EXPECT_FALSE(typedefs::router_path_problem("/a/b"));
  EXPECT_FALSE(typedefs::router_path_problem("/a%2Fb"));
  expect_problem(typedefs::router_path_problem("/a/../b"), Rule::invalid,
                 "non-normalized path, consider use '/b' instead");
  expect_problem(typedefs::router_path_problem("/%7Ea"), Rule::invalid,
                 "non-normalized path, consider use '/~a' instead");
  expect_problem(typedefs::router_path_problem("/a%2fb"), Rule::invalid,
                 "non-normalized path, consider use '/a%2Fb' instead");
}

TEST(Typedefs, RouterPathShapeRules) {
  expect_problem(typedefs::router_path_problem("users"), Rule::matches_regex,
                 "should start with: / (fixed path) or ~/ (regex path)");
  expect_problem(typedefs::router_path_problem("/a//b"), Rule::invalid, "must not have empty segments");
  expect_problem(typedefs::router_path_problem("~/a//b"), Rule::invalid, "must not have empty segments");
  expect_problem(typedefs::router_path_problem("/a%zz"), Rule::invalid, "invalid url-encoded value: '%zz'");
  // Other characters outside RFC 3986 are left to the router, as Kong does for route paths.
  EXPECT_FALSE(typedefs::router_path_problem("/a b"));
}

TEST(Typedefs, RouterRegexPathIsCompiledWithPcre) {
  EXPECT_FALSE(typedefs::router_path_problem(R"(~/users/\d+$)"));
  EXPECT_FALSE(typedefs::router_path_problem("~/(?<version>v[0-9]+)/items"));
  // Regex paths are not normalized: ".." means something else there.
  EXPECT_FALSE(typedefs::router_path_problem("~/a/../b"));

  const auto problem = typedefs::router_path_problem("~/users/(\\d+");
  ASSERT_TRUE(problem.has_value());
  EXPECT_EQ(problem->rule, Rule::invalid);
  EXPECT_TRUE(problem->reason.starts_with("invalid regex: '/users/(\\d+' (PCRE returned: ")) << problem->reason;
  EXPECT_NE(problem->reason.find("missing closing parenthesis"), std::string::npos) << problem->reason;
}

TEST(Typedefs, RegexError) {
  EXPECT_FALSE(typedefs::regex_error("^a+b*$"));
  EXPECT_FALSE(typedefs::regex_error(""));
  const auto unbalanced = typedefs::regex_error("a(");
  ASSERT_TRUE(unbalanced.has_value());
  EXPECT_NE(unbalanced->find("at offset 2"), std::string::npos) << *unbalanced;
  const auto bad_quantifier = typedefs::regex_error("*a");
  ASSERT_TRUE(bad_quantifier.has_value());
  EXPECT_NE(bad_quantifier->find("at offset 0"), std::string::npos) << *bad_quantifier;
}

// ---------------------------------------------------------------- tag_problem

TEST(Typedefs, TagAcceptsPrintableAsciiSpacesAndUtf8) {
  EXPECT_FALSE(typedefs::tag_problem("production"));
  EXPECT_FALSE(typedefs::tag_problem("team: payments"));
  EXPECT_FALSE(typedefs::tag_problem("env=prod;owner=@me"));
  EXPECT_FALSE(typedefs::tag_problem("caf\xC3\xA9"));
  EXPECT_FALSE(typedefs::tag_problem("\xE6\x97\xA5\xE6\x9C\xAC"));  // 日本
}

TEST(Typedefs, TagRefusesSeparatorsControlsAndBadUtf8) {
  // ',' and '/' separate tags in list filters (all-of and any-of), so a tag cannot hold them.
  expect_problem(typedefs::tag_problem("a,b"), Rule::matches_regex,
                 "invalid tag 'a,b': expected printable ascii (except `,` and `/`) or valid utf-8 sequences");
  EXPECT_TRUE(typedefs::tag_problem("a/b"));
  EXPECT_TRUE(typedefs::tag_problem("tab\there"));
  EXPECT_TRUE(typedefs::tag_problem("del\x7f"));
  expect_problem(typedefs::tag_problem("bad\xFF"), Rule::invalid, "invalid utf-8 character sequence");
  expect_problem(typedefs::tag_problem("cut\xC3"), Rule::invalid, "invalid utf-8 character sequence");
}

TEST(Typedefs, TagsFieldReportsTheBadElement) {
  const RecordDef record{.fields = {typedefs::tags()}};
  const auto problems = problems_of(record, R"({"tags": ["ok", "a,b", ""]})");
  ASSERT_EQ(problems.size(), 2u) << dump(problems);
  EXPECT_EQ(problems[0].field, "tags[1]");
  EXPECT_EQ(problems[0].rule, Rule::matches_regex);
  EXPECT_EQ(problems[1].field, "tags[2]");
  EXPECT_EQ(problems[1].rule, Rule::min_length);
  EXPECT_EQ(problems[1].reason, "cannot be blank");
}

// ---------------------------------------------------------------- field definitions

TEST(Typedefs, WildcardHostField) {
  const RecordDef record{.fields = {typedefs::wildcard_host("host")}};
  EXPECT_TRUE(problems_of(record, R"({"host": "*.example.com"})").empty());
  EXPECT_TRUE(problems_of(record, R"({"host": "example.*"})").empty());
  EXPECT_TRUE(problems_of(record, R"({"host": "example.com"})").empty());
  EXPECT_EQ(only_reason(problems_of(record, R"({"host": "a.*.com"})"), "host"),
            "wildcard must be leftmost or rightmost character");
  EXPECT_EQ(only_reason(problems_of(record, R"({"host": "*.*.com"})"), "host"), "only one wildcard must be specified");
  EXPECT_EQ(only_reason(problems_of(record, R"({"host": "10.0.0.1"})"), "host"), "must not be an IP");
  EXPECT_EQ(only_reason(problems_of(record, R"({"host": "*.example.com:443"})"), "host"), "must not have a port");
  EXPECT_EQ(only_reason(problems_of(record, R"({"host": "bad host"})"), "host"), "invalid value: bad host");
}

TEST(Typedefs, SniField) {
  const RecordDef record{.fields = {typedefs::sni("sni")}};
  EXPECT_TRUE(problems_of(record, R"({"sni": "api.example.com"})").empty());
  EXPECT_EQ(only_reason(problems_of(record, R"({"sni": "*.example.com"})"), "sni"), "invalid value: *.example.com");
  EXPECT_EQ(only_reason(problems_of(record, R"({"sni": "::1"})"), "sni"), "must not be an IP");
  EXPECT_EQ(only_reason(problems_of(record, R"({"sni": "example.com:443"})"), "sni"), "must not have a port");
}

TEST(Typedefs, RouteHostsElements) {
  const RecordDef record{.fields = {typedefs::hosts()}};
  // Route hosts may carry a port and one wildcard label.
  EXPECT_TRUE(
      problems_of(record, R"({"hosts": ["example.com", "*.example.com", "example.*", "example.com:8000", "10.0.0.1"]})")
          .empty());
  EXPECT_EQ(only_reason(problems_of(record, R"({"hosts": ["ok.com", "a.*.com"]})"), "hosts[1]"),
            "invalid wildcard: must be placed at leftmost or rightmost label");
  EXPECT_EQ(only_reason(problems_of(record, R"({"hosts": ["*.a.*"]})"), "hosts[0]"),
            "invalid wildcard: must have at most one wildcard");
  EXPECT_EQ(only_reason(problems_of(record, R"({"hosts": ["example*"]})"), "hosts[0]"),
            "invalid wildcard: must be placed at leftmost or rightmost label");
  EXPECT_EQ(only_reason(problems_of(record, R"({"hosts": ["example.com:99999"]})"), "hosts[0]"), "invalid port number");
  EXPECT_EQ(only_reason(problems_of(record, R"({"hosts": ["bad host"]})"), "hosts[0]"), "invalid hostname: bad host");
}

TEST(Typedefs, RouterPathsElements) {
  const RecordDef record{.fields = {typedefs::router_paths()}};
  EXPECT_TRUE(problems_of(record, R"({"paths": ["/", "/v1", "~/v[0-9]+/"]})").empty());
  EXPECT_EQ(only_reason(problems_of(record, R"({"paths": ["/a", "/b", "/c/../d"]})"), "paths[2]"),
            "non-normalized path, consider use '/d' instead");
}

TEST(Typedefs, PortAndProtocols) {
  const RecordDef record{.fields = {typedefs::port("port"), typedefs::protocols()}};
  InvalidParameters problems;
  const auto filled = ok::schema::process_record(bj::object{}, record, "", problems, nullptr);
  EXPECT_TRUE(problems.empty()) << dump(problems);
  // The protocols default is the HTTP set.
  EXPECT_EQ(filled.at("protocols"), bj::parse(R"(["grpc", "grpcs", "http", "https"])"));

  const auto bad = problems_of(record, R"({"port": 65536, "protocols": ["http", "gopher"]})");
  ASSERT_EQ(bad.size(), 2u) << dump(bad);
  EXPECT_EQ(bad[0].field, "port");
  EXPECT_EQ(bad[0].rule, Rule::max);
  EXPECT_EQ(bad[0].limit, 65535);
  EXPECT_EQ(bad[1].field, "protocols[1]");
  EXPECT_EQ(bad[1].rule, Rule::enum_);
  EXPECT_EQ(bad[1].choices.size(), typedefs::all_protocols().size());
}

}  // namespace
