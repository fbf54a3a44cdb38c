#include "declarative/yaml_json.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace {

using ok::declarative::FileError;
using ok::declarative::json_to_yaml;
using ok::declarative::yaml_to_json;
using ok::declarative::YamlLimits;

boost::json::value first(std::string_view yaml) { return yaml_to_json(yaml).as_object().at("v"); }

std::string error_of(std::string_view yaml, const YamlLimits& limits = {}) {
  try {
    yaml_to_json(yaml, limits);
  } catch (const FileError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(YamlJson, PlainScalarsAreTypedByTheCoreSchema) {
  EXPECT_TRUE(first("v: ~").is_null());
  EXPECT_TRUE(first("v: null").is_null());
  EXPECT_TRUE(first("v:").is_null());
  EXPECT_EQ(first("v: true"), boost::json::value(true));
  EXPECT_EQ(first("v: FALSE"), boost::json::value(false));
  EXPECT_EQ(first("v: 8000"), boost::json::value(8000));
  EXPECT_EQ(first("v: -12"), boost::json::value(-12));
  EXPECT_EQ(first("v: +7"), boost::json::value(7));
  EXPECT_EQ(first("v: 0x1F"), boost::json::value(31));
  EXPECT_EQ(first("v: 0o17"), boost::json::value(15));
  EXPECT_EQ(first("v: 9223372036854775807"), boost::json::value(std::numeric_limits<std::int64_t>::max()));
  EXPECT_EQ(first("v: -9223372036854775808"), boost::json::value(std::numeric_limits<std::int64_t>::min()));
  EXPECT_EQ(first("v: 2.5"), boost::json::value(2.5));
  EXPECT_EQ(first("v: .5"), boost::json::value(0.5));
  EXPECT_EQ(first("v: 1e3"), boost::json::value(1000.0));
  // YAML 1.1's words are strings in 1.2, as decK reads them.
  EXPECT_EQ(first("v: yes"), boost::json::value("yes"));
  EXPECT_EQ(first("v: on"), boost::json::value("on"));
  EXPECT_EQ(first("v: example.com"), boost::json::value("example.com"));
  EXPECT_EQ(first("v: /api/v1"), boost::json::value("/api/v1"));
  EXPECT_EQ(first("v: 1.2.3"), boost::json::value("1.2.3"));
}

TEST(YamlJson, QuotedAndStrTaggedScalarsAreStrings) {
  EXPECT_EQ(first("v: \"123\""), boost::json::value("123"));
  EXPECT_EQ(first("v: 'true'"), boost::json::value("true"));
  EXPECT_EQ(first("v: !!str 42"), boost::json::value("42"));
  EXPECT_EQ(first("v: ''"), boost::json::value(""));
  EXPECT_EQ(first("v: |\n  line one\n  line two\n"), boost::json::value("line one\nline two\n"));
}

TEST(YamlJson, JsonIsYamlToo) {
  const auto v = yaml_to_json(R"({"services": [{"name": "a", "port": 80, "retries": null, "enabled": true,
                                   "tags": [], "weight": 1.5}]})");
  const auto expected = boost::json::parse(R"({"services": [{"name": "a", "port": 80, "retries": null,
                                               "enabled": true, "tags": [], "weight": 1.5}]})");
  EXPECT_EQ(v, expected);
}

TEST(YamlJson, KeysKeepTheirOrder) {
  const auto v = yaml_to_json("b: 1\na: 2\nc: 3\n");
  std::string order;
  for (const auto& [k, _] : v.as_object()) order += std::string(k);
  EXPECT_EQ(order, "bac");
}

TEST(YamlJson, AnEmptyFileIsNull) {
  EXPECT_TRUE(yaml_to_json("").is_null());
  EXPECT_TRUE(yaml_to_json("# only a comment\n").is_null());
}

TEST(YamlJson, ErrorsSayWhere) {
  EXPECT_EQ(error_of("a: 1\nb: [1, 2\n").rfind("line ", 0), 0u) << error_of("a: 1\nb: [1, 2\n");
  EXPECT_EQ(error_of("a: 1\na: 2\n"), "line 2, column 1: the key [a] appears twice in one mapping");
  EXPECT_EQ(error_of("? [x]\n: 1\n"), "line 1, column 3: a mapping key must be a string");
  EXPECT_EQ(error_of("v: 9223372036854775808"),
            "line 1, column 4: the integer 9223372036854775808 does not fit in 64 bits");
  EXPECT_EQ(error_of("v: .inf"), "line 1, column 4: .inf is not a number JSON can hold");
  EXPECT_EQ(error_of("v: 1e999"), "line 1, column 4: the number 1e999 is out of range");
  EXPECT_EQ(error_of("a: 1\n---\nb: 2\n"), "line 2, column 1: one document per file: a second one starts here");
}

TEST(YamlJson, AliasesThatExpandBeyondTheLimitAreRefused) {
  // Each level names the previous one four times: 4^6 leaves from a few lines.
  std::string yaml = "a: &a [x, x, x, x]\n";
  for (char level = 'b'; level <= 'g'; ++level) {
    const std::string name(1, level);
    const std::string prev(1, static_cast<char>(level - 1));
    yaml += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n";
  }
  EXPECT_NE(error_of(yaml, {.max_nodes = 1000}).find("expands to more than 1000 nodes"), std::string::npos);
  EXPECT_NO_THROW(yaml_to_json(yaml));  // within the default limit: 4^6 is small
}

TEST(YamlJson, DepthBeyondTheLimitIsRefused) {
  std::string yaml = "v: ";
  for (int i = 0; i < 10; ++i) yaml += "[";
  for (int i = 0; i < 10; ++i) yaml += "]";
  EXPECT_NE(error_of(yaml, {.max_depth = 5}).find("nested deeper than 5 levels"), std::string::npos);
  EXPECT_NO_THROW(yaml_to_json(yaml));
}

TEST(YamlJson, ValuesSurviveARoundTrip) {
  const auto original = boost::json::parse(R"({
    "_format_version": "3.0",
    "strings": ["true", "FALSE", "null", "~", "", "123", "-4", "0x1F", "0o7", "1e3", ".5", "yes", "off", "1.2.3",
                "a: b", "- item", "# not a comment", "multi\nline", "  padded  ", "ünïcode", "'single'", "\"double\""],
    "numbers": [0, -1, 9223372036854775807, -9223372036854775808, 0.1, 1e300, 2.5, 1.0],
    "others": [true, false, null, [], {}, [[1, [2]], {"x": {"y": null}}]],
    "true": "key that looks like a boolean",
    "8000": "key that looks like a number"
  })");
  const std::string yaml = json_to_yaml(original);
  EXPECT_EQ(yaml_to_json(yaml), original) << yaml;
}

TEST(YamlJson, EmitsBlockStyleInKeyOrder) {
  const auto v = boost::json::parse(R"({"services": [{"name": "a", "port": 80, "tags": ["x"]}]})");
  EXPECT_EQ(json_to_yaml(v), "services:\n  - name: a\n    port: 80\n    tags:\n      - x\n");
}

}  // namespace
