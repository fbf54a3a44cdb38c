#include "json/parse.hpp"

#include "errors/api_error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ok::errors::ApiError;
using ok::errors::Rule;
using ok::errors::Source;
using ok::errors::Status;
using ok::json::parse_body;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Parses `text`, expecting the one 400 shape every malformed body gets; returns its reason.
std::string rejection(std::string_view text, std::size_t max_depth = ok::json::kDefaultMaxDepth) {
  try {
    parse_body(text, max_depth);
    ADD_FAILURE() << "accepted: " << text.substr(0, 80);
    return {};
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), Status::bad_request);
    EXPECT_FALSE(e.detail().empty());
    if (e.invalid_parameters().size() != 1u) {
      ADD_FAILURE() << "expected one invalid parameter, got " << e.invalid_parameters().size();
      return {};
    }
    const auto& p = e.invalid_parameters()[0];
    EXPECT_EQ(p.field, "body");
    EXPECT_EQ(p.rule, Rule::invalid);
    EXPECT_EQ(p.source, Source::body);
    EXPECT_FALSE(p.reason.empty());
    return p.reason;
  }
}

// A syntax error's reason must say where it is.
void expect_located(std::string_view text, int line, int column) {
  const auto reason = rejection(text);
  EXPECT_TRUE(contains(reason, "line " + std::to_string(line))) << reason;
  EXPECT_TRUE(contains(reason, "column " + std::to_string(column))) << reason;
}

std::string nested_arrays(std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string nested_objects(std::size_t depth) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += "{\"a\":";
  out += "1";
  out += std::string(depth, '}');
  return out;
}

TEST(JsonParse, ParsesAnObject) {
  auto v = parse_body(R"({"name":"prod","labels":{"env":"x"},"n":1,"ok":true,"none":null,"list":[1,2]})");
  ASSERT_TRUE(v.is_object());
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("name").as_string(), "prod");
  EXPECT_EQ(o.at("labels").at("env").as_string(), "x");
  EXPECT_EQ(o.at("n").as_int64(), 1);
  EXPECT_TRUE(o.at("ok").as_bool());
  EXPECT_TRUE(o.at("none").is_null());
  EXPECT_EQ(o.at("list").as_array().size(), 2u);
}

TEST(JsonParse, SurroundingWhitespaceIsFine) {
  auto v = parse_body(" \r\n\t{\"a\":1} \n\n ");
  EXPECT_EQ(v.at("a").as_int64(), 1);
}

TEST(JsonParse, AnyJsonValueParses) {
  // Whether the value must be an object is the schema's call, not the parser's.
  EXPECT_TRUE(parse_body("[]").is_array());
  EXPECT_TRUE(parse_body("\"x\"").is_string());
  EXPECT_TRUE(parse_body("null").is_null());
  EXPECT_EQ(parse_body("42").as_int64(), 42);
}

TEST(JsonParse, EscapesAreDecoded) {
  auto v = parse_body(R"({"s":"a\"b\\c\nd\u00e9\uD83D\uDE00"})");
  EXPECT_EQ(v.at("s").as_string(), "a\"b\\c\nd\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(JsonParse, ValidUtf8IsAccepted) {
  auto v = parse_body("{\"s\":\"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\"}");
  EXPECT_EQ(v.at("s").as_string(), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(JsonParse, EmptyBodyIsRejected) {
  rejection("");
  rejection("   ");
  rejection("\r\n\t ");
}

TEST(JsonParse, TruncatedBodyIsRejectedWithLocation) {
  for (const char* text : {"{", "{\"a\":", "{\"a\":1", "[1,2", "{\"a\":\"unterminated", "tru"}) {
    const auto reason = rejection(text);
    EXPECT_TRUE(contains(reason, "line")) << text << " -> " << reason;
    EXPECT_TRUE(contains(reason, "column")) << text << " -> " << reason;
  }
}

TEST(JsonParse, TruncationIsReportedAtTheEnd) {
  // "{\"a\":" is 5 bytes; the input ends before column 6.
  expect_located("{\"a\":", 1, 6);
  expect_located("{\n  \"a\": [1,\n  2", 3, 4);
}

TEST(JsonParse, TrailingGarbageIsRejected) {
  expect_located("{\"a\":1}x", 1, 8);
  expect_located("{\"a\":1} {}", 1, 9);
  expect_located("{}\n\n  garbage", 3, 3);
  rejection("{}}");
  rejection("[] []");
  rejection("1 2");
}

TEST(JsonParse, SyntaxErrorsAreLocated) {
  expect_located("{\n  \"a\": ,\n}", 2, 8);
  expect_located("{\"a\" 1}", 1, 6);
  rejection("{'a':1}");
  rejection("{\"a\":1,}");   // trailing comma
  rejection("[1,]");
  rejection("{\"a\":01}");   // leading zero
  rejection("{\"a\":NaN}");
  rejection("{\"a\":1} // comment");
  rejection("/* c */ {}");
  rejection("{\"a\":\"\\x41\"}");  // not a JSON escape
}

TEST(JsonParse, DepthAtTheLimitIsAccepted) {
  EXPECT_NO_THROW(parse_body(nested_arrays(64)));
  EXPECT_NO_THROW(parse_body(nested_objects(64)));
  EXPECT_NO_THROW(parse_body(nested_arrays(10), 10));
}

TEST(JsonParse, DepthBeyondTheLimitIsRejected) {
  rejection(nested_arrays(65));
  rejection(nested_objects(65));
  rejection(nested_arrays(11), 10);
}

TEST(JsonParse, HugeNestingIsRejectedWithoutCrashing) {
  rejection(nested_arrays(100000));
  rejection(std::string(100000, '['));  // never closed
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  rejection(objects);
}

TEST(JsonParse, InvalidUtf8IsRejected) {
  rejection("{\"s\":\"\xFF\"}");
  rejection("{\"s\":\"\xC3\"}");              // truncated two-byte sequence
  rejection("{\"s\":\"\x80\"}");              // lone continuation byte
  rejection("{\"s\":\"\xC0\xAF\"}");          // overlong encoding of '/'
  rejection("{\"s\":\"\xF8\x88\x80\x80\x80\"}");  // five-byte form
  rejection("{\"\xFF\":1}");                  // in a key
}

TEST(JsonParse, EncodedSurrogatesAreRejected) {
  rejection("{\"s\":\"\xED\xA0\x80\"}");  // U+D800 written as UTF-8
}

TEST(JsonParse, LoneSurrogateEscapeIsRejected) {
  rejection(R"({"s":"\uD800"})");
  rejection(R"({"s":"\uDE00x"})");
}

TEST(JsonParse, RawControlCharactersInStringsAreRejected) {
  rejection("{\"s\":\"a\x01" "b\"}");
  rejection("{\"s\":\"a\nb\"}");
  rejection("{\"s\":\"a\tb\"}");
  rejection(std::string("{\"s\":\"a\0b\"}", 10));
  rejection("{\"s\":\"a\x1F\"}");
}

TEST(JsonParse, NulOutsideStringsIsRejected) {
  rejection(std::string("{}\0", 3));
  rejection(std::string("\0{}", 3));
}

}  // namespace
