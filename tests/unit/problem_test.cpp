#include "errors/problem.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace {

using ok::errors::ApiError;
using ok::errors::InvalidParameter;
using ok::errors::Rule;
using ok::errors::Source;

boost::json::object render(const ApiError& e, std::uint64_t trace = 42) {
  return boost::json::parse(ok::errors::render_problem(e, trace)).as_object();
}

TEST(Problem, NotFoundHasTheSixFields) {
  auto body = render(ApiError::not_found("The requested control plane was not found."), 123456789);
  EXPECT_EQ(body.at("status").as_int64(), 404);
  EXPECT_EQ(body.at("title").as_string(), "Not Found");
  EXPECT_EQ(body.at("type").as_string(), "https://httpstatuses.com/404");
  EXPECT_EQ(body.at("instance").as_string(), "kong:trace:123456789");
  EXPECT_EQ(body.at("detail").as_string(), "The requested control plane was not found.");
  // Kong's clients read `message`: always the same text as `detail`.
  EXPECT_EQ(body.at("message").as_string(), body.at("detail").as_string());
  EXPECT_EQ(body.size(), 6u);
  EXPECT_FALSE(body.contains("invalid_parameters"));
}

TEST(Problem, BadRequestCarriesRuleSpecificKeys) {
  ok::errors::InvalidParameters params;
  params.push_back({.field = "name", .rule = Rule::min_length, .reason = "too short", .limit = 2});
  params.push_back({.field = "proxy_urls", .rule = Rule::max_items, .reason = "too many", .limit = 5});
  InvalidParameter choice{.field = "sort", .rule = Rule::enum_, .reason = "bad", .source = Source::query};
  choice.choices.emplace_back("created_at");
  params.push_back(choice);
  params.push_back({.field = "labels.kong", .rule = Rule::is_label, .reason = "reserved"});
  auto body = render(ApiError::bad_request(params));
  const auto& items = body.at("invalid_parameters").as_array();
  ASSERT_EQ(items.size(), 4u);
  EXPECT_EQ(items[0].at("rule").as_string(), "min_length");
  EXPECT_EQ(items[0].at("minimum").as_int64(), 2);
  EXPECT_FALSE(items[0].as_object().contains("maximum"));
  EXPECT_EQ(items[1].at("maximum").as_int64(), 5);
  EXPECT_EQ(items[2].at("rule").as_string(), "enum");
  EXPECT_EQ(items[2].at("source").as_string(), "query");
  EXPECT_EQ(items[2].at("choices").as_array().size(), 1u);
  EXPECT_EQ(items[3].as_object().size(), 4u);  // field, rule, reason, source only
}

TEST(Problem, BadRequestIsNeverEmpty) {
  auto body = render(ApiError::bad_request(ok::errors::InvalidParameters{}));
  EXPECT_EQ(body.at("invalid_parameters").as_array().size(), 1u);
}

TEST(Problem, TitlesAreFixedPerStatus) {
  EXPECT_EQ(render(ApiError::unauthenticated()).at("title").as_string(), "Unauthorized");
  EXPECT_EQ(render(ApiError::unauthenticated()).at("detail").as_string(), "A valid token is required.");
  EXPECT_EQ(render(ApiError::invalid_credentials()).at("detail").as_string(), "Invalid credentials.");
  EXPECT_EQ(render(ApiError::forbidden("x")).at("title").as_string(), "Forbidden");
  EXPECT_EQ(render(ApiError::conflict("x")).at("status").as_int64(), 409);
  EXPECT_EQ(render(ApiError::content_too_large(10)).at("title").as_string(), "Content Too Large");
  EXPECT_EQ(render(ApiError::unsupported_media_type()).at("status").as_int64(), 415);
  EXPECT_EQ(render(ApiError::too_many_requests(3)).at("title").as_string(), "Too Many Requests");
  EXPECT_EQ(render(ApiError::header_fields_too_large(10)).at("title").as_string(), "Request Header Fields Too Large");
  EXPECT_EQ(render(ApiError::internal()).at("title").as_string(), "Internal Server Error");
  EXPECT_EQ(render(ApiError::unavailable()).at("status").as_int64(), 503);
  EXPECT_EQ(render(ApiError::method_not_allowed({"GET"})).at("title").as_string(), "Method Not Allowed");
}

}  // namespace

namespace {

// Regression found by fuzz/request_fuzzer.cpp: a query key with a raw 0xFF byte was echoed
// into the problem body, which then was not valid UTF-8 (so not JSON).
TEST(Problem, EchoedClientTextIsValidUtf8) {
  ok::errors::InvalidParameter p{
      .field = "[filter][\xFF]", .rule = Rule::invalid, .reason = "bad \xC0\xAF key", .source = Source::query};
  const auto text = ok::errors::render_problem(ApiError::bad_request(p), 1);
  auto body = boost::json::parse(text).as_object();
  const auto& item = body.at("invalid_parameters").as_array()[0].as_object();
  EXPECT_EQ(item.at("field").as_string(), "[filter][\xEF\xBF\xBD]");
  EXPECT_EQ(item.at("reason").as_string(), "bad \xEF\xBF\xBD\xEF\xBF\xBD key");
  // valid multi-byte text is kept as it is
  ok::errors::InvalidParameter q{.field = "labels.\xC3\xA9t\xC3\xA9", .rule = Rule::is_label, .reason = "r"};
  auto kept = boost::json::parse(ok::errors::render_problem(ApiError::bad_request(q), 1)).as_object();
  EXPECT_EQ(kept.at("invalid_parameters").as_array()[0].at("field").as_string(), "labels.\xC3\xA9t\xC3\xA9");
}

}  // namespace
