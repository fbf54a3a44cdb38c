#include "http/target.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ok::http::parse_target;
using ok::http::QueryParams;
using ok::http::Request;
using ok::http::TargetError;

Request parsed(std::string target, TargetError expected = TargetError::none) {
  Request r;
  r.target = std::move(target);
  EXPECT_EQ(parse_target(r), expected) << "target: " << r.target;
  return r;
}

TEST(Target, PlainPathWithoutQuery) {
  auto r = parsed("/v2/control-planes");
  EXPECT_EQ(r.path, "/v2/control-planes");
  EXPECT_TRUE(r.query.empty());
  EXPECT_TRUE(r.target_valid);
}

TEST(Target, PathIsPercentDecoded) {
  auto r = parsed("/v2/control%2Dplanes/abc%20def");
  EXPECT_EQ(r.path, "/v2/control-planes/abc def");
}

TEST(Target, PlusInPathIsNotASpace) {
  auto r = parsed("/a+b");
  EXPECT_EQ(r.path, "/a+b");
}

TEST(Target, PathStopsAtQuestionMark) {
  auto r = parsed("/v2/control-planes?page[size]=10");
  EXPECT_EQ(r.path, "/v2/control-planes");
  ASSERT_EQ(r.query.size(), 1u);
}

TEST(Target, EmptyQueryAfterQuestionMark) {
  auto r = parsed("/x?");
  EXPECT_EQ(r.path, "/x");
  EXPECT_TRUE(r.query.empty());
}

TEST(Target, QueryPlusAndPercent20AreSpaces) {
  auto r = parsed("/x?filter[name][contains]=my+cp&q=a%20b");
  EXPECT_EQ(r.query, (QueryParams{{"filter[name][contains]", "my cp"}, {"q", "a b"}}));
}

TEST(Target, EncodedPlusInQueryStaysAPlus) {
  auto r = parsed("/x?q=a%2Bb");
  EXPECT_EQ(r.query, (QueryParams{{"q", "a+b"}}));
}

TEST(Target, RawBracketsAreAccepted) {
  auto r = parsed("/v2/control-planes?page[size]=10&page[number]=2");
  EXPECT_EQ(r.query, (QueryParams{{"page[size]", "10"}, {"page[number]", "2"}}));
}

TEST(Target, EncodedBracketsDecodeToTheSameKey) {
  auto r = parsed("/v2/control-planes?page%5Bsize%5D=10&filter%5Bname%5D%5Beq%5D=x");
  EXPECT_EQ(r.query, (QueryParams{{"page[size]", "10"}, {"filter[name][eq]", "x"}}));
}

TEST(Target, EncodedAmpersandAndEqualsStayInTheValue) {
  auto r = parsed("/x?labels=a%3Db%26c&k=v=w");
  EXPECT_EQ(r.query, (QueryParams{{"labels", "a=b&c"}, {"k", "v=w"}}));
}

TEST(Target, EmptyValuesAndBareKeys) {
  auto r = parsed("/x?page[size]=&sort&labels=");
  EXPECT_EQ(r.query, (QueryParams{{"page[size]", ""}, {"sort", ""}, {"labels", ""}}));
}

TEST(Target, EmptyPairsAreSkipped) {
  auto r = parsed("/x?&&a=1&&b=2&");
  EXPECT_EQ(r.query, (QueryParams{{"a", "1"}, {"b", "2"}}));
}

TEST(Target, RepeatedKeysKeepTheirOrder) {
  auto r = parsed("/x?a=1&b=2&a=3");
  EXPECT_EQ(r.query, (QueryParams{{"a", "1"}, {"b", "2"}, {"a", "3"}}));
}

TEST(Target, Utf8InQueryIsDecoded) {
  auto r = parsed("/x?q=%C3%A9t%C3%A9");
  EXPECT_EQ(r.query, (QueryParams{{"q", "\xC3\xA9t\xC3\xA9"}}));
}

TEST(Target, MalformedEscapeInPathIsBadPath) {
  for (const char* target : {"/v2/%zz", "/v2/%4", "/v2/abc%", "/%G0?x=1"}) {
    auto r = parsed(target, TargetError::bad_path);
    EXPECT_FALSE(r.target_valid) << target;
    EXPECT_TRUE(r.query.empty()) << target;
  }
}

TEST(Target, MalformedEscapeInQueryIsBadQuery) {
  for (const char* target : {"/x?q=%zz", "/x?q=50%", "/x?%4=1", "/x?a=1&b=%2", "/x?page%5size%5D=1"}) {
    auto r = parsed(target, TargetError::bad_query);
    EXPECT_FALSE(r.target_valid) << target;
    EXPECT_EQ(r.path, "/x") << target;  // the path was still decoded
  }
}

TEST(Target, ReparsingClearsPreviousQuery) {
  Request r;
  r.target = "/x?a=1";
  ASSERT_EQ(parse_target(r), TargetError::none);
  r.target = "/y?b=2";
  ASSERT_EQ(parse_target(r), TargetError::none);
  EXPECT_EQ(r.path, "/y");
  EXPECT_EQ(r.query, (QueryParams{{"b", "2"}}));
}

}  // namespace
