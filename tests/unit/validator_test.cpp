#include "schema/validator.hpp"

#include "api/control_planes/control_plane.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <string>

namespace {

namespace bj = boost::json;
using ok::errors::InvalidParameter;
using ok::errors::InvalidParameters;
using ok::errors::Rule;
using ok::errors::Source;
using ok::schema::Field;
using ok::schema::Kind;
using ok::schema::Mode;
using ok::schema::ObjectSchema;
using ok::schema::validate;

namespace cp = ok::api::control_planes;

InvalidParameters check(std::string_view json, const ObjectSchema& schema, Mode mode = Mode::create) {
  return validate(bj::parse(json), schema, mode);
}

const InvalidParameter* find(const InvalidParameters& params, std::string_view field) {
  for (const auto& p : params) {
    if (p.field == field) return &p;
  }
  return nullptr;
}

std::string dump(const InvalidParameters& params) {
  std::string out;
  for (const auto& p : params) {
    out += p.field + " [" + std::string(ok::errors::rule_name(p.rule)) + "] " + p.reason + "\n";
  }
  return out;
}

// Expects exactly one problem, on `field` with `rule`, and returns it.
InvalidParameter only(const InvalidParameters& params, std::string_view field, Rule rule) {
  EXPECT_EQ(params.size(), 1u) << dump(params);
  const auto* p = find(params, field);
  if (!p) {
    ADD_FAILURE() << "no problem on " << field << "\n" << dump(params);
    return {};
  }
  EXPECT_EQ(p->rule, rule) << dump(params);
  EXPECT_EQ(p->source, Source::body);
  EXPECT_FALSE(p->reason.empty());
  return *p;
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += unit;
  return out;
}

const ObjectSchema& widget_schema() {
  static const ObjectSchema item{{
      Field{.name = "key", .kind = Kind::string, .required = true},
  }};
  static const ObjectSchema s{{
      Field{.name = "title", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 10},
      Field{.name = "count", .kind = Kind::integer, .minimum = 0, .maximum = 10},
      Field{.name = "ratio", .kind = Kind::number, .minimum = -1, .maximum = 1},
      Field{.name = "enabled", .kind = Kind::boolean},
      Field{.name = "owner", .kind = Kind::uuid},
      Field{.name = "expires_at", .kind = Kind::date_time},
      Field{.name = "color", .kind = Kind::enumeration, .choices = {"red", "green"}},
      Field{.name = "tags",
            .kind = Kind::array,
            .min_items = 1,
            .max_items = 3,
            .unique_items = true,
            .items = Kind::string},
      Field{.name = "meta", .kind = Kind::object, .object = &item},
      Field{.name = "note", .kind = Kind::string, .nullable = true},
      Field{.name = "slug",
            .kind = Kind::string,
            .check =
                [](std::string_view v) {
                  return v.find(' ') == std::string_view::npos ? "" : "must not contain spaces";
                }},
      Field{.name = "anything", .kind = Kind::any},
      Field{.name = "id", .kind = Kind::uuid, .read_only = true},
  }};
  return s;
}

// ---------------------------------------------------------------- body shape, required

TEST(Validator, ValidBodyHasNoProblems) {
  auto problems =
      check(R"({"title":"t","count":3,"ratio":0.5,"enabled":true,"owner":"0b7f5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5b",)"
            R"("expires_at":"2026-01-02T03:04:05.678Z","color":"red","tags":["a","b"],"meta":{"key":"k"},)"
            R"("note":null,"slug":"no-spaces","anything":[1,{"x":null}]})",
            widget_schema());
  EXPECT_TRUE(problems.empty()) << dump(problems);
}

TEST(Validator, BodyMustBeAnObject) {
  for (const char* body : {"[]", "\"x\"", "1", "null", "true"}) {
    auto problems = check(body, widget_schema());
    only(problems, "body", Rule::is_object);
  }
}

TEST(Validator, MissingRequiredField) { only(check("{}", widget_schema()), "title", Rule::required); }

TEST(Validator, UpdateModeDoesNotEnforceRequired) {
  EXPECT_TRUE(check("{}", widget_schema(), Mode::update).empty());
  EXPECT_TRUE(check("{}", cp::request_schema(), Mode::update).empty());
  // ...but still checks what is present.
  only(check(R"({"title":5})", widget_schema(), Mode::update), "title", Rule::is_string);
}

// ---------------------------------------------------------------- types

TEST(Validator, WrongTypesMapToIsRules) {
  only(check(R"({"title":5})", widget_schema()), "title", Rule::is_string);
  only(check(R"({"title":"t","count":"3"})", widget_schema()), "count", Rule::is_integer);
  only(check(R"({"title":"t","count":1.5})", widget_schema()), "count", Rule::is_integer);
  only(check(R"({"title":"t","ratio":"0.5"})", widget_schema()), "ratio", Rule::is_number);
  only(check(R"({"title":"t","enabled":"true"})", widget_schema()), "enabled", Rule::is_boolean);
  only(check(R"({"title":"t","enabled":1})", widget_schema()), "enabled", Rule::is_boolean);
  only(check(R"({"title":"t","meta":[]})", widget_schema()), "meta", Rule::is_object);
  only(check(R"({"title":"t","meta":"x"})", widget_schema()), "meta", Rule::is_object);
  only(check(R"({"title":"t","tags":"a"})", widget_schema()), "tags", Rule::is_array);
  only(check(R"({"title":"t","tags":{"a":1}})", widget_schema()), "tags", Rule::is_array);
  only(check(R"({"title":"t","owner":7})", widget_schema()), "owner", Rule::is_string);
  only(check(R"({"title":"t","color":true})", widget_schema()), "color", Rule::is_string);
}

TEST(Validator, IntegralDoubleIsAnInteger) {
  EXPECT_TRUE(check(R"({"title":"t","count":3.0})", widget_schema()).empty());
}

TEST(Validator, NullOnlyWhereNullable) {
  EXPECT_TRUE(check(R"({"title":"t","note":null})", widget_schema()).empty());
  only(check(R"({"title":null})", widget_schema()), "title", Rule::is_string);
  only(check(R"({"title":"t","count":null})", widget_schema()), "count", Rule::is_integer);
  only(check(R"({"title":"t","enabled":null})", widget_schema()), "enabled", Rule::is_boolean);
}

TEST(Validator, FormattedStrings) {
  only(check(R"({"title":"t","owner":"not-a-uuid"})", widget_schema()), "owner", Rule::is_uuid);
  only(check(R"({"title":"t","expires_at":"tomorrow"})", widget_schema()), "expires_at", Rule::is_date_time);
  only(check(R"({"title":"t","slug":"has space"})", widget_schema()), "slug", Rule::matches_regex);
}

// ---------------------------------------------------------------- limits

TEST(Validator, MinLengthCarriesMinimum) {
  auto p = only(check(R"({"name":"a"})", cp::request_schema()), "name", Rule::min_length);
  EXPECT_EQ(p.limit, 2);
  p = only(check(R"({"name":""})", cp::request_schema()), "name", Rule::min_length);
  EXPECT_EQ(p.limit, 2);
}

TEST(Validator, MaxLengthCarriesMaximum) {
  const std::string body = R"({"name":")" + repeat("x", 257) + R"("})";
  auto p = only(check(body, cp::request_schema()), "name", Rule::max_length);
  EXPECT_EQ(p.limit, 256);
  EXPECT_TRUE(check(R"({"name":")" + repeat("x", 256) + R"("})", cp::request_schema()).empty());
}

TEST(Validator, LengthIsCountedInCharactersNotBytes) {
  // 256 two-byte characters are 512 bytes but within the 256-character limit.
  EXPECT_TRUE(check(R"({"name":")" + repeat("\xC3\xA9", 256) + R"("})", cp::request_schema()).empty());
  auto p = only(check(R"({"name":")" + repeat("\xE2\x82\xAC", 257) + R"("})", cp::request_schema()), "name",
                Rule::max_length);
  EXPECT_EQ(p.limit, 256);
  // One four-byte emoji is one character: below the minimum of 2.
  only(check(R"({"name":"\uD83D\uDE00"})", cp::request_schema()), "name", Rule::min_length);
}

TEST(Validator, NumberBoundsCarryMinimumAndMaximum) {
  auto p = only(check(R"({"title":"t","count":-1})", widget_schema()), "count", Rule::min);
  EXPECT_EQ(p.limit, 0);
  p = only(check(R"({"title":"t","count":11})", widget_schema()), "count", Rule::max);
  EXPECT_EQ(p.limit, 10);
  EXPECT_TRUE(check(R"({"title":"t","count":0})", widget_schema()).empty());
  EXPECT_TRUE(check(R"({"title":"t","count":10})", widget_schema()).empty());
  p = only(check(R"({"title":"t","ratio":1.5})", widget_schema()), "ratio", Rule::max);
  EXPECT_EQ(p.limit, 1);
  p = only(check(R"({"title":"t","ratio":-1.01})", widget_schema()), "ratio", Rule::min);
  EXPECT_EQ(p.limit, -1);
}

TEST(Validator, ArrayItemCountBounds) {
  auto p = only(check(R"({"title":"t","tags":[]})", widget_schema()), "tags", Rule::min_items);
  EXPECT_EQ(p.limit, 1);
  p = only(check(R"({"title":"t","tags":["a","b","c","d"]})", widget_schema()), "tags", Rule::max_items);
  EXPECT_EQ(p.limit, 3);
}

TEST(Validator, ArrayItemsAreTypeChecked) {
  only(check(R"({"title":"t","tags":["a",2]})", widget_schema()), "tags[1]", Rule::is_string);
}

TEST(Validator, EnumListsChoices) {
  auto p = only(check(R"({"title":"t","color":"blue"})", widget_schema()), "color", Rule::enum_);
  ASSERT_EQ(p.choices.size(), 2u);
  EXPECT_EQ(p.choices[0].as_string(), "red");
  EXPECT_EQ(p.choices[1].as_string(), "green");
}

TEST(Validator, ControlPlaneClusterTypeEnumHasEveryChoice) {
  auto p = only(check(R"({"name":"cp","cluster_type":"CLUSTER_TYPE_NOPE"})", cp::request_schema()), "cluster_type",
                Rule::enum_);
  ASSERT_EQ(p.choices.size(), cp::kClusterTypes.size());
  for (std::size_t i = 0; i < cp::kClusterTypes.size(); ++i) {
    EXPECT_EQ(std::string_view(p.choices[i].as_string()), cp::kClusterTypes[i]);
  }
  for (auto type : cp::kClusterTypes) {
    EXPECT_TRUE(check(R"({"name":"cp","cluster_type":")" + std::string(type) + R"("})", cp::request_schema()).empty())
        << type;
  }
}

TEST(Validator, AuthTypeEnum) {
  EXPECT_TRUE(check(R"({"name":"cp","auth_type":"pki_client_certs"})", cp::request_schema()).empty());
  auto p = only(check(R"({"name":"cp","auth_type":"mtls"})", cp::request_schema()), "auth_type", Rule::enum_);
  EXPECT_EQ(p.choices.size(), 2u);
}

// ---------------------------------------------------------------- unknown and read-only keys

TEST(Validator, UnknownAndReadOnlyKeysAreUnknownProperty) {
  auto p = only(check(R"({"title":"t","bogus":1})", widget_schema()), "bogus", Rule::unknown_property);
  EXPECT_NE(p.reason.find("bogus"), std::string::npos);
  only(check(R"({"title":"t","id":"0b7f5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5b"})", widget_schema()), "id",
       Rule::unknown_property);
  for (const char* key : {"id", "config", "created_at", "updated_at"}) {
    only(check(R"({"name":"cp",")" + std::string(key) + R"(":"x"})", cp::request_schema()), key,
         Rule::unknown_property);
  }
}

TEST(Validator, AdditionalPropertiesAllowUnknownKeysButNotReadOnlyOnes) {
  ObjectSchema open{{Field{.name = "a", .kind = Kind::string}, Field{.name = "ro", .read_only = true}}, true};
  EXPECT_TRUE(check(R"({"a":"x","extra":1})", open).empty());
  only(check(R"({"ro":"x"})", open), "ro", Rule::unknown_property);
}

TEST(Validator, ReadOnlyRequiredFieldIsNotDemanded) {
  ObjectSchema s{{Field{.name = "id", .kind = Kind::uuid, .required = true, .read_only = true}}};
  EXPECT_TRUE(check("{}", s).empty());
}

TEST(Validator, ControlPlaneUpdateRejectsImmutableFields) {
  only(check(R"({"cluster_type":"CLUSTER_TYPE_CONTROL_PLANE"})", cp::request_schema(), Mode::update), "cluster_type",
       Rule::unknown_property);
  only(check(R"({"cloud_gateway":false})", cp::request_schema(), Mode::update), "cloud_gateway",
       Rule::unknown_property);
  EXPECT_TRUE(check(R"({"name":"renamed","description":"d","auth_type":"pki_client_certs"})", cp::request_schema(),
                    Mode::update)
                  .empty());
  // The same fields are accepted, and checked, when creating.
  EXPECT_TRUE(
      check(R"({"name":"cp","cluster_type":"CLUSTER_TYPE_CONTROL_PLANE","cloud_gateway":false})", cp::request_schema())
          .empty());
}

TEST(Validator, ControlPlaneSpecExampleIsValid) {
  auto problems =
      check(R"({"name":"Test Control Plane","description":"A test control plane for exploration.",)"
            R"("cluster_type":"CLUSTER_TYPE_K8S_INGRESS_CONTROLLER","cloud_gateway":false,)"
            R"("proxy_urls":[{"host":"example.com","port":443,"protocol":"https"}],"labels":{"env":"test"}})",
            cp::request_schema());
  EXPECT_TRUE(problems.empty()) << dump(problems);
}

// ---------------------------------------------------------------- nested objects and arrays

TEST(Validator, NestedObjectFieldPaths) {
  only(check(R"({"title":"t","meta":{}})", widget_schema()), "meta.key", Rule::required);
  only(check(R"({"title":"t","meta":{"key":"k","zz":1}})", widget_schema()), "meta.zz", Rule::unknown_property);
}

TEST(Validator, ProxyUrlItemPaths) {
  auto problems = check(R"({"name":"cp","proxy_urls":[{"host":"a.example","port":443,"protocol":"https"},)"
                        R"({"host":"b.example","port":"80","protocol":"http"}]})",
                        cp::request_schema());
  only(problems, "proxy_urls[1].port", Rule::is_integer);

  problems = check(R"({"name":"cp","proxy_urls":[{"port":0,"protocol":"","extra":1}]})", cp::request_schema());
  EXPECT_EQ(problems.size(), 4u) << dump(problems);
  ASSERT_NE(find(problems, "proxy_urls[0].host"), nullptr) << dump(problems);
  EXPECT_EQ(find(problems, "proxy_urls[0].host")->rule, Rule::required);
  ASSERT_NE(find(problems, "proxy_urls[0].port"), nullptr);
  EXPECT_EQ(find(problems, "proxy_urls[0].port")->rule, Rule::min);
  EXPECT_EQ(find(problems, "proxy_urls[0].port")->limit, 1);
  ASSERT_NE(find(problems, "proxy_urls[0].protocol"), nullptr);
  EXPECT_EQ(find(problems, "proxy_urls[0].protocol")->rule, Rule::min_length);
  ASSERT_NE(find(problems, "proxy_urls[0].extra"), nullptr);
  EXPECT_EQ(find(problems, "proxy_urls[0].extra")->rule, Rule::unknown_property);

  only(check(R"({"name":"cp","proxy_urls":[{"host":"h","port":65536,"protocol":"http"}]})", cp::request_schema()),
       "proxy_urls[0].port", Rule::max);
  only(check(R"({"name":"cp","proxy_urls":["h:80"]})", cp::request_schema()), "proxy_urls[0]", Rule::is_object);
}

TEST(Validator, NestedObjectsRequireTheirFieldsEvenInUpdateMode) {
  // A proxy URL replaces the old one whole, so its fields stay required in a PATCH.
  only(check(R"({"proxy_urls":[{"host":"h","port":80}]})", cp::request_schema(), Mode::update),
       "proxy_urls[0].protocol", Rule::required);
}

TEST(Validator, ProxyUrlsAtMostFive) {
  std::string items;
  for (int i = 0; i < 6; ++i) {
    if (i) items += ",";
    items += R"({"host":"h)" + std::to_string(i) + R"(","port":80,"protocol":"http"})";
  }
  auto p =
      only(check(R"({"name":"cp","proxy_urls":[)" + items + "]}", cp::request_schema()), "proxy_urls", Rule::max_items);
  EXPECT_EQ(p.limit, 5);
}

TEST(Validator, UniqueItemsReportsTheRepeat) {
  auto problems = check(R"({"name":"cp","proxy_urls":[{"host":"h","port":80,"protocol":"http"},)"
                        R"({"host":"other","port":80,"protocol":"http"},{"host":"h","port":80,"protocol":"http"}]})",
                        cp::request_schema());
  ASSERT_EQ(problems.size(), 1u) << dump(problems);
  EXPECT_EQ(problems[0].field, "proxy_urls[2]");
  EXPECT_EQ(problems[0].rule, Rule::invalid);

  only(check(R"({"title":"t","tags":["a","a"]})", widget_schema()), "tags[1]", Rule::invalid);
  EXPECT_TRUE(check(R"({"title":"t","tags":["a","A"]})", widget_schema()).empty());
}

// JSON objects are unordered: the same proxy URL with its keys in another order is still a
// repeat (proxy_urls is `format: set`).
TEST(Validator, UniqueItemsIgnoresObjectKeyOrder) {
  auto problems = check(R"({"name":"cp","proxy_urls":[{"host":"h","port":80,"protocol":"http"},)"
                        R"({"protocol":"http","port":80,"host":"h"}]})",
                        cp::request_schema());
  ASSERT_EQ(problems.size(), 1u) << dump(problems);
  EXPECT_EQ(problems[0].field, "proxy_urls[1]");
}

// ---------------------------------------------------------------- everything at once

TEST(Validator, ReportsEveryProblemAtOnce) {
  auto problems = check(R"({"name":"x","cluster_type":"nope","cloud_gateway":"yes","id":"1","labels":{"kong-x":"v"},)"
                        R"("proxy_urls":[{"host":"h","port":"p","protocol":"http"}],"mystery":true})",
                        cp::request_schema());
  EXPECT_EQ(problems.size(), 7u) << dump(problems);
  const std::pair<const char*, Rule> expected[] = {
      {"name", Rule::min_length},          {"cluster_type", Rule::enum_},     {"cloud_gateway", Rule::is_boolean},
      {"id", Rule::unknown_property},      {"labels.kong-x", Rule::is_label}, {"proxy_urls[0].port", Rule::is_integer},
      {"mystery", Rule::unknown_property},
  };
  for (const auto& [field, rule] : expected) {
    const auto* p = find(problems, field);
    ASSERT_NE(p, nullptr) << field << "\n" << dump(problems);
    EXPECT_EQ(p->rule, rule) << field;
  }
}

TEST(Validator, MissingRequiredAndOtherProblemsTogether) {
  auto problems = check(R"({"description":5,"auth_type":"x"})", cp::request_schema());
  EXPECT_EQ(problems.size(), 3u) << dump(problems);
  EXPECT_NE(find(problems, "name"), nullptr);
  EXPECT_NE(find(problems, "description"), nullptr);
  EXPECT_NE(find(problems, "auth_type"), nullptr);
}

// ---------------------------------------------------------------- labels

InvalidParameters labels(std::string_view json, Mode mode = Mode::create, std::int64_t max = 50) {
  InvalidParameters out;
  ok::schema::validate_labels(bj::parse(json), "labels", mode, max, out);
  return out;
}

TEST(Labels, ValidLabels) {
  EXPECT_TRUE(labels(R"({"env":"prod","team":"a-b.c_d","x":"1","Mixed.Case-Key_1":"Z9"})").empty());
  EXPECT_TRUE(labels("{}").empty());
}

TEST(Labels, MustBeAnObject) {
  only(labels("[]"), "labels", Rule::is_object);
  only(labels(R"("env:prod")"), "labels", Rule::is_object);
  only(check(R"({"name":"cp","labels":["a"]})", cp::request_schema()), "labels", Rule::is_object);
}

TEST(Labels, KeyLength) {
  EXPECT_TRUE(labels(R"({")" + repeat("k", 63) + R"(":"v"})").empty());
  const std::string long_key = repeat("k", 64);
  only(labels(R"({")" + long_key + R"(":"v"})"), "labels." + long_key, Rule::is_label);
  only(labels(R"({"":"v"})"), R"(labels[""])", Rule::is_label);
}

TEST(Labels, ValueLength) {
  EXPECT_TRUE(labels(R"({"k":")" + repeat("v", 63) + R"("})").empty());
  only(labels(R"({"k":")" + repeat("v", 64) + R"("})"), "labels.k", Rule::is_label);
  only(labels(R"({"k":""})"), "labels.k", Rule::is_label);
}

TEST(Labels, ReservedKeyPrefixes) {
  for (const char* key : {"kong", "kong-version", "konghq", "konnect", "konnect.io", "mesh", "mesh-zone", "kic",
                          "kic_class", "insomnia", "insomnia-ws", "kuma", "kuma.io", "_private", "_"}) {
    only(labels(R"({")" + std::string(key) + R"(":"v"})"), "labels." + std::string(key), Rule::is_label);
  }
  // Only a prefix is reserved; the words elsewhere in a key are fine.
  const auto fine = labels(R"({"my-kong":"v","a_b":"v","team-mesh":"v","k":"v"})");
  EXPECT_TRUE(fine.empty()) << dump(fine);
}

TEST(Labels, ReservedPrefixReasonNamesThePrefix) {
  auto p = only(labels(R"({"konnect-env":"v"})"), "labels.konnect-env", Rule::is_label);
  EXPECT_NE(p.reason.find("konnect"), std::string::npos) << p.reason;
}

TEST(Labels, ValuePattern) {
  for (const char* value : {"a", "Z", "0", "a-b", "a.b", "a_b", "a--b", "A1.b_c-D2"}) {
    EXPECT_TRUE(labels(R"({"k":")" + std::string(value) + R"("})").empty()) << value;
  }
  for (const char* value : {"-a", "a-", ".a", "a.", "_a", "a_", "a b", "a/b", "a:b", "\xC3\xA9t\xC3\xA9", "-"}) {
    only(labels(R"({"k":")" + std::string(value) + R"("})"), "labels.k", Rule::is_label);
  }
}

TEST(Labels, KeyPattern) {
  for (const char* key : {"-a", "a-", "a b", "a/b", "a:b"}) {
    only(labels(R"({")" + std::string(key) + R"(":"v"})"), "labels." + std::string(key), Rule::is_label);
  }
}

TEST(Labels, ValuesMustBeStrings) {
  only(labels(R"({"k":1})"), "labels.k", Rule::is_label);
  only(labels(R"({"k":true})"), "labels.k", Rule::is_label);
  only(labels(R"({"k":{"x":"y"}})"), "labels.k", Rule::is_label);
}

TEST(Labels, AtMostFifty) {
  auto many = [](int n) {
    std::string body = "{";
    for (int i = 0; i < n; ++i) {
      if (i) body += ",";
      body += "\"key" + std::to_string(i) + "\":\"v\"";
    }
    return body + "}";
  };
  EXPECT_TRUE(labels(many(50)).empty());
  auto p = only(labels(many(51)), "labels", Rule::max_items);
  EXPECT_EQ(p.limit, 50);
  p = only(check(R"({"name":"cp","labels":)" + many(51) + "}", cp::request_schema()), "labels", Rule::max_items);
  EXPECT_EQ(p.limit, 50);
}

TEST(Labels, NullValueOnlyInUpdateMode) {
  EXPECT_TRUE(labels(R"({"env":null})", Mode::update).empty());
  only(labels(R"({"env":null})", Mode::create), "labels.env", Rule::is_label);
  EXPECT_TRUE(check(R"({"labels":{"env":null}})", cp::request_schema(), Mode::update).empty());
  only(check(R"({"name":"cp","labels":{"env":null}})", cp::request_schema(), Mode::create), "labels.env",
       Rule::is_label);
  // A null value does not excuse a bad key.
  only(labels(R"({"kong":null})", Mode::update), "labels.kong", Rule::is_label);
}

TEST(Labels, NullLabelsObjectIsRejected) {
  only(check(R"({"name":"cp","labels":null})", cp::request_schema()), "labels", Rule::is_object);
}

TEST(Labels, EveryBadLabelIsReported) {
  auto problems = labels(R"({"kong":"v","ok":"fine","bad":"-x","_y":"v"})");
  EXPECT_EQ(problems.size(), 3u) << dump(problems);
  EXPECT_NE(find(problems, "labels.kong"), nullptr);
  EXPECT_NE(find(problems, "labels.bad"), nullptr);
  EXPECT_NE(find(problems, "labels._y"), nullptr);
}

TEST(Labels, KeyAndValueProblemHelpers) {
  EXPECT_TRUE(ok::schema::label_key_problem("env").empty());
  EXPECT_FALSE(ok::schema::label_key_problem("").empty());
  EXPECT_FALSE(ok::schema::label_key_problem("kuma-zone").empty());
  EXPECT_TRUE(ok::schema::label_value_problem("prod").empty());
  EXPECT_FALSE(ok::schema::label_value_problem("prod-").empty());
  EXPECT_FALSE(ok::schema::label_value_problem(repeat("a", 64)).empty());
}

// ---------------------------------------------------------------- helpers

TEST(Formats, IsUuid) {
  EXPECT_TRUE(ok::schema::is_uuid("0b7f5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(ok::schema::is_uuid("0B7F5A3C-1D2E-4F60-8A9B-0C1D2E3F4A5B"));
  EXPECT_TRUE(ok::schema::is_uuid("00000000-0000-0000-0000-000000000000"));
  EXPECT_FALSE(ok::schema::is_uuid(""));
  EXPECT_FALSE(ok::schema::is_uuid("0b7f5a3c1d2e4f608a9b0c1d2e3f4a5b"));
  EXPECT_FALSE(ok::schema::is_uuid("0b7f5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5"));
  EXPECT_FALSE(ok::schema::is_uuid("0b7f5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5bb"));
  EXPECT_FALSE(ok::schema::is_uuid("0b7f5a3g-1d2e-4f60-8a9b-0c1d2e3f4a5b"));
  EXPECT_FALSE(ok::schema::is_uuid("0b7f5a3c_1d2e-4f60-8a9b-0c1d2e3f4a5b"));
  EXPECT_FALSE(ok::schema::is_uuid("{b7f5a3c-1d2e-4f60-8a9b-0c1d2e3f4a5}"));
}

TEST(Formats, IsRfc3339Accepts) {
  for (const char* s : {"2026-01-02T03:04:05Z", "2026-01-02T03:04:05.678Z", "2026-01-02T03:04:05.1Z",
                        "2026-01-02T03:04:05.123456789Z", "2026-01-02T03:04:05+05:30", "2026-01-02T03:04:05-08:00",
                        "2026-01-02t03:04:05z", "2024-02-29T00:00:00Z", "2026-12-31T23:59:60Z"}) {
    EXPECT_TRUE(ok::schema::is_rfc3339(s)) << s;
  }
}

TEST(Formats, IsRfc3339Rejects) {
  for (const char* s :
       {"", "garbage", "2026-01-02", "2026-01-02T03:04:05", "2026-01-02 03:04:05Z", "2026-13-02T03:04:05Z",
        "2026-00-02T03:04:05Z", "2026-01-32T03:04:05Z", "2026-01-02T24:04:05Z", "2026-01-02T03:60:05Z",
        "2026-01-02T03:04:05.Z", "2026-01-02T03:04:05+0530", "2026-01-02T03:04:05+05", "2026-01-02T03:04:05ZZ",
        "2026-01-02T03:04:05Z ", "26-01-02T03:04:05Z", "2026/01/02T03:04:05Z", "1700000000"}) {
    EXPECT_FALSE(ok::schema::is_rfc3339(s)) << s;
  }
}

// RFC 3339 §5.7: date-mday must be valid for the month and year.
TEST(Formats, IsRfc3339RejectsImpossibleDates) {
  for (const char* s : {"2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z"}) {
    EXPECT_FALSE(ok::schema::is_rfc3339(s)) << s;
  }
}

TEST(Formats, Utf8LengthCountsCodePoints) {
  EXPECT_EQ(ok::schema::utf8_length(""), 0u);
  EXPECT_EQ(ok::schema::utf8_length("abc"), 3u);
  EXPECT_EQ(ok::schema::utf8_length("\xC3\xA9"), 1u);          // é
  EXPECT_EQ(ok::schema::utf8_length("\xE2\x82\xAC"), 1u);      // €
  EXPECT_EQ(ok::schema::utf8_length("\xF0\x9F\x98\x80"), 1u);  // 😀
  EXPECT_EQ(ok::schema::utf8_length("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z"), 5u);
}

// The header: "Number of Unicode code points in valid UTF-8 text (bytes otherwise)".
TEST(Formats, Utf8LengthOfInvalidTextIsItsByteCount) {
  EXPECT_EQ(ok::schema::utf8_length("\xFF\xFE"), 2u);
  EXPECT_EQ(ok::schema::utf8_length("\x80\x80\x80"), 3u);  // lone continuation bytes
  EXPECT_EQ(ok::schema::utf8_length("ab\x80"), 3u);
}

}  // namespace

namespace {

// Regressions found by fuzz/json_validator_fuzzer.cpp.
TEST(ValidatorRegressions, HugeNumbersForIntegerFieldsAreRangeErrorsNotCrashes) {
  const auto& schema = ok::api::control_planes::request_schema();
  for (const char* port : {"1e20", "-1e20", "18446744073709551615", "9.3e18"}) {
    auto body = boost::json::parse(
        fmt::format(R"({{"name":"ab","proxy_urls":[{{"host":"h","port":{},"protocol":"https"}}]}})", port));
    auto problems = ok::schema::validate(body, schema, ok::schema::Mode::create);
    ASSERT_EQ(problems.size(), 1u) << port;
    EXPECT_EQ(problems[0].field, "proxy_urls[0].port") << port;
  }
}

TEST(ValidatorRegressions, AnEmptyKeyIsNamedNotBlank) {
  auto body = boost::json::parse(R"({"name":"ab","":1})");
  auto problems = ok::schema::validate(body, ok::api::control_planes::request_schema(), ok::schema::Mode::create);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].field, R"([""])");
  EXPECT_EQ(problems[0].rule, ok::errors::Rule::unknown_property);
}

}  // namespace

namespace {

TEST(Validator, IsUtf8IsStrict) {
  using ok::schema::is_utf8;
  EXPECT_TRUE(is_utf8(""));
  EXPECT_TRUE(is_utf8("plain ascii"));
  EXPECT_TRUE(is_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"));
  EXPECT_FALSE(
      is_utf8("a\x9B"
              "lice"));                       // a stray continuation byte (a fuzzer's find)
  EXPECT_FALSE(is_utf8("\xC3"));              // truncated
  EXPECT_FALSE(is_utf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(is_utf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(is_utf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
}

}  // namespace
