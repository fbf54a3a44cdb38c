#include "schema/entity_validator.hpp"

#include "schema/typedefs.hpp"
#include "schema/validator.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cctype>
#include <string>

namespace {

namespace bj = boost::json;
using ok::errors::InvalidParameter;
using ok::errors::InvalidParameters;
using ok::errors::Rule;
using ok::schema::AutoValue;
using ok::schema::EntityCheck;
using ok::schema::EntityDef;
using ok::schema::FieldDef;
using ok::schema::Problem;
using ok::schema::Processed;
using ok::schema::RecordDef;
using ok::schema::Shorthand;
using ok::schema::Subschema;
namespace fields = ok::schema::fields;
namespace typedefs = ok::schema::typedefs;

std::string dump(const InvalidParameters& problems) {
  std::string out;
  for (const auto& p : problems) {
    out += p.field + " [" + std::string(ok::errors::rule_name(p.rule)) + "] " + p.reason + "\n";
  }
  return out;
}

const InvalidParameter* find(const InvalidParameters& problems, std::string_view field) {
  for (const auto& p : problems) {
    if (p.field == field) return &p;
  }
  return nullptr;
}

// Expects exactly one problem, on `field` with `rule`, and returns it.
InvalidParameter only(const InvalidParameters& problems, std::string_view field, Rule rule) {
  EXPECT_EQ(problems.size(), 1u) << dump(problems);
  const auto* p = find(problems, field);
  if (!p) {
    ADD_FAILURE() << "no problem on " << field << "\n" << dump(problems);
    return {};
  }
  EXPECT_EQ(p->rule, rule) << dump(problems);
  return *p;
}

Processed process(std::string_view json, const EntityDef& def) {
  return ok::schema::process_entity(bj::parse(json), def);
}

// A service-like entity with one field of each kind.
const EntityDef& widgets() {
  static const EntityDef def{
      .name = "widgets",
      .display = "Widget",
      .endpoint_key = "name",
      .record = {
          .fields = {
              typedefs::id(),
              fields::string("name"),
              fields::string("title").len(2, 4),
              fields::integer("retries").def(5).between(0, 32767),
              fields::integer("weight").at_most(100),
              fields::number("ratio").between(0.5, 1.5),
              fields::boolean("enabled").def(true),
              fields::string("protocol").def("http").one_of_values({"http", "https"}),
              fields::integer("concurrency").one_of_values({-1, 1}),
              fields::array("paths", typedefs::path("path")),
              fields::set("tags", fields::string("tag")),
              fields::map("headers", typedefs::header_name("name"), fields::array("values", fields::string("v"))),
              fields::record(
                  "config",
                  RecordDef{
                      .fields = {fields::integer("minute").greater_than(0), fields::integer("hour").def(60),
                                 fields::record("limits", RecordDef{.fields = {fields::integer("burst").def(10)}}),
                                 fields::string("policy").def("local")}}),
              fields::record("extra", RecordDef{.fields = {fields::string("note").def("n")}}).req(false),
              fields::foreign("service", "services", "name"),
              fields::string("key").auto_generated(AutoValue::random_key),
          }}};
  return def;
}

// Fields a, b, c (strings that may be "") and n, and the checks of one test.
EntityDef checked(std::vector<EntityCheck> checks) {
  return EntityDef{.name = "checked",
                   .record = {.fields = {fields::string("a").len(0), fields::string("b").len(0),
                                         fields::string("c").len(0), fields::integer("n")},
                              .checks = std::move(checks)}};
}

// ---------------------------------------------------------------- defaults and generated values

TEST(EntityValidator, DefaultsAreFilledAndAbsentFieldsAreNull) {
  const auto p = process("{}", widgets());
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_EQ(p.entity.at("retries"), 5);
  EXPECT_EQ(p.entity.at("enabled"), true);
  EXPECT_EQ(p.entity.at("protocol"), "http");
  // Every field of the record is present, nulls included.
  ASSERT_TRUE(p.entity.contains("name"));
  EXPECT_TRUE(p.entity.at("name").is_null());
  EXPECT_TRUE(p.entity.at("tags").is_null());
  EXPECT_EQ(p.entity.size(), widgets().record.fields.size());
}

TEST(EntityValidator, AbsentRecordIsFilledFromItsOwnDefaultsRecursively) {
  const auto p = process("{}", widgets());
  ASSERT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_EQ(p.entity.at("config"),
            bj::parse(R"({"minute": null, "hour": 60, "limits": {"burst": 10}, "policy": "local"})"));
  // A record that is not required stays null when left out.
  EXPECT_TRUE(p.entity.at("extra").is_null());
}

TEST(EntityValidator, PartialRecordKeepsGivenMembersAndFillsTheRest) {
  const auto p = process(R"({"config": {"minute": 3, "limits": {}}})", widgets());
  ASSERT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_EQ(p.entity.at("config"),
            bj::parse(R"({"minute": 3, "hour": 60, "limits": {"burst": 10}, "policy": "local"})"));
}

TEST(EntityValidator, ExplicitNullKeepsNullInsteadOfTheDefault) {
  const auto p = process(R"({"retries": null, "protocol": null, "extra": null, "config": {"hour": null}})", widgets());
  ASSERT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_TRUE(p.entity.at("retries").is_null());
  EXPECT_TRUE(p.entity.at("protocol").is_null());
  EXPECT_TRUE(p.entity.at("extra").is_null());
  EXPECT_TRUE(p.entity.at("config").at("hour").is_null());
}

TEST(EntityValidator, RequiredRecordGivenAsNullIsRequired) {
  // Records are required by default (Kong's entities): null is not a way to leave one out.
  const auto p = process(R"({"config": null})", widgets());
  only(p.problems, "config", Rule::required);
}

TEST(EntityValidator, IdIsGeneratedAndGivenIdIsKept) {
  const auto generated = process("{}", widgets());
  ASSERT_TRUE(generated.entity.at("id").is_string());
  EXPECT_TRUE(ok::schema::is_uuid(generated.entity.at("id").get_string()));
  EXPECT_NE(process("{}", widgets()).entity.at("id"), generated.entity.at("id"));

  const auto given = process(R"({"id": "0b4b6e43-6c5c-4c5e-9f5e-6a7f3c1d2e4f"})", widgets());
  EXPECT_TRUE(given.problems.empty()) << dump(given.problems);
  EXPECT_EQ(given.entity.at("id"), "0b4b6e43-6c5c-4c5e-9f5e-6a7f3c1d2e4f");

  only(process(R"({"id": "not-a-uuid"})", widgets()).problems, "id", Rule::is_uuid);
}

TEST(EntityValidator, ExplicitNullIdStillYieldsAnId) {
  // Every stored entity needs an id: the writers read entity["id"] as a string.
  const auto p = process(R"({"id": null})", widgets());
  const bool has_id = p.entity.contains("id") && p.entity.at("id").is_string();
  const bool refused = find(p.problems, "id") != nullptr;
  EXPECT_TRUE(has_id || refused);
}

TEST(EntityValidator, RandomKeyIs32UrlSafeCharacters) {
  const auto first = process("{}", widgets()).entity.at("key");
  const auto second = process("{}", widgets()).entity.at("key");
  ASSERT_TRUE(first.is_string());
  const std::string_view key = first.get_string();
  EXPECT_EQ(key.size(), 32u);
  EXPECT_TRUE(std::all_of(key.begin(), key.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_';
  })) << key;
  EXPECT_NE(first, second);
  // A given key is kept.
  EXPECT_EQ(process(R"({"key": "mine"})", widgets()).entity.at("key"), "mine");
}

// ---------------------------------------------------------------- required and types

TEST(EntityValidator, RequiredFieldAbsentOrNull) {
  const EntityDef def{.name = "r", .record = {.fields = {fields::string("name").req(), fields::integer("n").req()}}};
  const auto absent = process(R"({"n": 1})", def);
  EXPECT_EQ(only(absent.problems, "name", Rule::required).reason, "is required");
  only(process(R"({"name": null, "n": 1})", def).problems, "name", Rule::required);
  // A required field with a default is satisfied by the default.
  const EntityDef with_default{.name = "r", .record = {.fields = {fields::integer("n").req().def(3)}}};
  const auto filled = process("{}", with_default);
  EXPECT_TRUE(filled.problems.empty()) << dump(filled.problems);
  EXPECT_EQ(filled.entity.at("n"), 3);
}

TEST(EntityValidator, TypeRules) {
  EXPECT_EQ(only(process(R"({"name": 5})", widgets()).problems, "name", Rule::is_string).reason, "must be a string");
  EXPECT_EQ(only(process(R"({"retries": "5"})", widgets()).problems, "retries", Rule::is_integer).reason,
            "must be an integer");
  only(process(R"({"retries": 1.5})", widgets()).problems, "retries", Rule::is_integer);
  EXPECT_EQ(only(process(R"({"ratio": "1"})", widgets()).problems, "ratio", Rule::is_number).reason,
            "must be a number");
  EXPECT_EQ(only(process(R"({"enabled": "yes"})", widgets()).problems, "enabled", Rule::is_boolean).reason,
            "must be a boolean");
  EXPECT_EQ(only(process(R"({"paths": "/a"})", widgets()).problems, "paths", Rule::is_array).reason,
            "must be an array");
  only(process(R"({"tags": {}})", widgets()).problems, "tags", Rule::is_array);
  EXPECT_EQ(only(process(R"({"config": []})", widgets()).problems, "config", Rule::is_object).reason,
            "must be an object");
  only(process(R"({"headers": ["X-Foo"]})", widgets()).problems, "headers", Rule::is_object);
  only(process(R"({"service": "billing"})", widgets()).problems, "service", Rule::is_object);
}

TEST(EntityValidator, WholeNumberAsFloatIsAnInteger) {
  const auto p = process(R"({"retries": 7.0})", widgets());
  ASSERT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_TRUE(p.entity.at("retries").is_int64());
  EXPECT_EQ(p.entity.at("retries"), 7);
}

TEST(EntityValidator, NullElementOfAnArrayIsATypeProblem) {
  const auto p = process(R"({"paths": ["/a", null]})", widgets());
  EXPECT_EQ(only(p.problems, "paths[1]", Rule::is_string).reason, "must be a string, not null");
}

TEST(EntityValidator, BodyMustBeAnObject) {
  only(process("[]", widgets()).problems, "body", Rule::is_object);
  only(process("\"x\"", widgets()).problems, "body", Rule::is_object);
}

// ---------------------------------------------------------------- enum, bounds and lengths

TEST(EntityValidator, EnumListsItsChoices) {
  const auto p = only(process(R"({"protocol": "ftp"})", widgets()).problems, "protocol", Rule::enum_);
  EXPECT_EQ(p.reason, "must be one of [http, https]");
  EXPECT_EQ(p.choices, bj::parse(R"(["http", "https"])").as_array());

  const auto number = only(process(R"({"concurrency": 0})", widgets()).problems, "concurrency", Rule::enum_);
  EXPECT_EQ(number.reason, "must be one of [-1, 1]");
  EXPECT_EQ(number.choices, bj::parse("[-1, 1]").as_array());
  EXPECT_TRUE(process(R"({"concurrency": -1})", widgets()).problems.empty());
}

TEST(EntityValidator, MinimumAndMaximum) {
  const auto low = only(process(R"({"retries": -1})", widgets()).problems, "retries", Rule::min);
  EXPECT_EQ(low.reason, "must be between 0 and 32767");
  EXPECT_EQ(low.limit, 0);
  const auto high = only(process(R"({"retries": 32768})", widgets()).problems, "retries", Rule::max);
  EXPECT_EQ(high.reason, "must be between 0 and 32767");
  EXPECT_EQ(high.limit, 32767);
  // The bounds themselves are allowed.
  EXPECT_TRUE(process(R"({"retries": 0})", widgets()).problems.empty());
  EXPECT_TRUE(process(R"({"retries": 32767})", widgets()).problems.empty());

  const auto at_most = only(process(R"({"weight": 101})", widgets()).problems, "weight", Rule::max);
  EXPECT_EQ(at_most.reason, "must be at most 100");
  EXPECT_EQ(at_most.limit, 100);
}

TEST(EntityValidator, GreaterThanIsExclusive) {
  const auto p = only(process(R"({"config": {"minute": 0}})", widgets()).problems, "config.minute", Rule::min);
  EXPECT_EQ(p.reason, "must be greater than 0");
  EXPECT_EQ(p.limit, 0);
  EXPECT_TRUE(process(R"({"config": {"minute": 1}})", widgets()).problems.empty());
}

TEST(EntityValidator, FractionalBoundsHaveNoIntegerLimit) {
  // The spec's min/max shapes carry an integer; a fractional bound is reported as `invalid`.
  const auto low = only(process(R"({"ratio": 0.25})", widgets()).problems, "ratio", Rule::invalid);
  EXPECT_EQ(low.reason, "must be between 0.5 and 1.5");
  EXPECT_FALSE(low.limit.has_value());
  EXPECT_TRUE(process(R"({"ratio": 1})", widgets()).problems.empty());
}

TEST(EntityValidator, StringLengths) {
  const auto blank = only(process(R"({"name": ""})", widgets()).problems, "name", Rule::min_length);
  EXPECT_EQ(blank.reason, "cannot be blank");
  EXPECT_EQ(blank.limit, 1);
  const auto short_title = only(process(R"({"title": "a"})", widgets()).problems, "title", Rule::min_length);
  EXPECT_EQ(short_title.reason, "must have at least 2 characters");
  EXPECT_EQ(short_title.limit, 2);
  const auto long_title = only(process(R"({"title": "abcde"})", widgets()).problems, "title", Rule::max_length);
  EXPECT_EQ(long_title.reason, "must have at most 4 characters");
  EXPECT_EQ(long_title.limit, 4);
  // Lengths count characters, not bytes.
  EXPECT_TRUE(process(R"({"title": "\u00e9\u00e9\u00e9\u00e9"})", widgets()).problems.empty());
}

TEST(EntityValidator, CollectionLengths) {
  const EntityDef def{.name = "c", .record = {.fields = {fields::array("items", fields::string("item")).len(1, 2)}}};
  const auto few = only(process(R"({"items": []})", def).problems, "items", Rule::min_items);
  EXPECT_EQ(few.reason, "must have at least 1 items");
  EXPECT_EQ(few.limit, 1);
  const auto many = only(process(R"({"items": ["a", "b", "c"]})", def).problems, "items", Rule::max_items);
  EXPECT_EQ(many.limit, 2);
}

TEST(EntityValidator, SetsAreDeduplicatedSilentlyInOrder) {
  const auto p = process(R"({"tags": ["b", "a", "b", "c", "a"]})", widgets());
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_EQ(p.entity.at("tags"), bj::parse(R"(["b", "a", "c"])"));
  // Arrays keep their duplicates.
  EXPECT_EQ(process(R"({"paths": ["/a", "/a"]})", widgets()).entity.at("paths"), bj::parse(R"(["/a", "/a"])"));
}

TEST(EntityValidator, SetOfRecordsDeduplicatesWhateverTheKeyOrder) {
  const EntityDef def{
      .name = "s",
      .record = {.fields = {fields::set(
                     "pairs", fields::record("", RecordDef{.fields = {fields::integer("x"), fields::integer("y")}}))}}};
  const auto p = process(R"({"pairs": [{"x": 1, "y": 2}, {"y": 2, "x": 1}, {"x": 2}]})", def);
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_EQ(p.entity.at("pairs"), bj::parse(R"([{"x": 1, "y": 2}, {"x": 2, "y": null}])"));
}

// ---------------------------------------------------------------- paths of nested problems

TEST(EntityValidator, NestedFieldPaths) {
  only(process(R"({"config": {"minute": "x"}})", widgets()).problems, "config.minute", Rule::is_integer);
  only(process(R"({"config": {"limits": {"burst": true}}})", widgets()).problems, "config.limits.burst",
       Rule::is_integer);
  only(process(R"({"paths": ["/a", "/b", "c"]})", widgets()).problems, "paths[2]", Rule::matches_regex);
  only(process(R"({"headers": {"X-Foo": "bar"}})", widgets()).problems, "headers.X-Foo", Rule::is_array);
  only(process(R"({"headers": {"X-Foo": [1]}})", widgets()).problems, "headers.X-Foo[0]", Rule::is_string);
  only(process(R"({"headers": {"Bad Name": ["v"]}})", widgets()).problems, "headers.Bad Name", Rule::matches_regex);
  only(process(R"({"headers": {"X-Foo": null}})", widgets()).problems, "headers.X-Foo", Rule::is_array);
}

TEST(EntityValidator, UnknownProperties) {
  const auto top = only(process(R"({"colour": "red"})", widgets()).problems, "colour", Rule::unknown_property);
  EXPECT_EQ(top.reason, "property colour should not exist");
  only(process(R"({"config": {"seconds": 1}})", widgets()).problems, "config.seconds", Rule::unknown_property);
}

TEST(EntityValidator, EveryProblemIsReportedAtOnce) {
  const auto p =
      process(R"({"colour": 1, "name": 5, "retries": -1, "protocol": "ftp", "paths": ["x"], "config": {"minute": 0}})",
              widgets());
  EXPECT_EQ(p.problems.size(), 6u) << dump(p.problems);
  EXPECT_NE(find(p.problems, "colour"), nullptr);
  EXPECT_NE(find(p.problems, "name"), nullptr);
  EXPECT_NE(find(p.problems, "retries"), nullptr);
  EXPECT_NE(find(p.problems, "protocol"), nullptr);
  EXPECT_NE(find(p.problems, "paths[0]"), nullptr);
  EXPECT_NE(find(p.problems, "config.minute"), nullptr);
}

// ---------------------------------------------------------------- entity checks

TEST(EntityValidator, AtLeastOneOf) {
  const auto def = checked({ok::schema::at_least_one_of({"a", "b"})});
  // "" is not "set" for entity checks (Kong's is_nonempty).
  const auto p = only(process(R"({"a": "", "c": "x"})", def).problems, "a", Rule::dependent_fields);
  EXPECT_EQ(p.reason, "at least one of these fields must be non-empty: 'a', 'b'");
  EXPECT_EQ(p.dependents, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(process(R"({"b": "x"})", def).problems.empty());
}

TEST(EntityValidator, OnlyOneOf) {
  const auto def = checked({ok::schema::only_one_of({"a", "b"})});
  const auto both = only(process(R"({"a": "x", "b": "y"})", def).problems, "a", Rule::dependent_fields);
  EXPECT_EQ(both.reason, "exactly one of these fields must be non-empty: 'a', 'b'");
  EXPECT_EQ(both.dependents, (std::vector<std::string>{"a", "b"}));
  only(process("{}", def).problems, "a", Rule::dependent_fields);
  EXPECT_TRUE(process(R"({"a": "x"})", def).problems.empty());
}

TEST(EntityValidator, MutuallyRequired) {
  const auto def = checked({ok::schema::mutually_required({"a", "b", "c"})});
  const auto p = only(process(R"({"b": "x"})", def).problems, "a", Rule::dependent_fields);
  EXPECT_EQ(p.reason, "all or none of these fields must be set: 'a', 'b', 'c'");
  EXPECT_EQ(p.dependents, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(process("{}", def).problems.empty());
  EXPECT_TRUE(process(R"({"a": "1", "b": "2", "c": "3"})", def).problems.empty());
}

TEST(EntityValidator, MutuallyExclusive) {
  const auto def = checked({ok::schema::mutually_exclusive({"a", "b"})});
  const auto p = only(process(R"({"a": "x", "b": "y"})", def).problems, "a", Rule::dependent_fields);
  EXPECT_EQ(p.reason, "only one or none of these fields must be set: 'a', 'b'");
  EXPECT_EQ(p.dependents, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(process("{}", def).problems.empty());
  EXPECT_TRUE(process(R"({"b": "y"})", def).problems.empty());
  // An empty string does not count as set.
  EXPECT_TRUE(process(R"({"a": "x", "b": ""})", def).problems.empty());
}

TEST(EntityValidator, Distinct) {
  const auto def = checked({ok::schema::distinct({"a", "b", "c"})});
  const auto p = only(process(R"({"a": "x", "b": "y", "c": "x"})", def).problems, "c", Rule::invalid);
  EXPECT_EQ(p.reason, "values of these fields must be distinct: 'a', 'b', 'c'");
  // Unset fields are not compared.
  EXPECT_TRUE(process(R"({"a": "x"})", def).problems.empty());
}

TEST(EntityValidator, ConditionalNullSetAndOneOf) {
  const auto must_be_null = checked({ok::schema::conditional("a", {"off"}, "b", EntityCheck::Then::null)});
  const auto null_problem = only(process(R"({"a": "off", "b": "x"})", must_be_null).problems, "b", Rule::is_null);
  EXPECT_EQ(null_problem.reason, "must not be set when 'a' is 'off'");
  EXPECT_TRUE(process(R"({"a": "on", "b": "x"})", must_be_null).problems.empty());

  const auto must_be_set = checked({ok::schema::conditional("a", {"on"}, "b", EntityCheck::Then::set)});
  const auto set_problem = only(process(R"({"a": "on"})", must_be_set).problems, "b", Rule::required);
  EXPECT_EQ(set_problem.reason, "is required when 'a' is 'on'");
  only(process(R"({"a": "on", "b": ""})", must_be_set).problems, "b", Rule::required);
  // No condition, no requirement (a null condition never matches).
  EXPECT_TRUE(process("{}", must_be_set).problems.empty());

  const auto one_of = checked({ok::schema::conditional("n", {1, 2}, "b", EntityCheck::Then::one_of, {"x", "y"})});
  const auto choice = only(process(R"({"n": 2, "b": "z"})", one_of).problems, "b", Rule::enum_);
  EXPECT_EQ(choice.reason, "must be one of [x, y] when 'n' is '2'");
  EXPECT_EQ(choice.choices, bj::parse(R"(["x", "y"])").as_array());
  EXPECT_TRUE(process(R"({"n": 2, "b": "y"})", one_of).problems.empty());
  EXPECT_TRUE(process(R"({"n": 3, "b": "z"})", one_of).problems.empty());
}

TEST(EntityValidator, ConditionalOnADottedField) {
  const EntityDef def{
      .name = "rl",
      .record = {.fields = {fields::string("policy").def("local"), typedefs::redis()},
                 .checks = {ok::schema::conditional("policy", {"redis"}, "redis.host", EntityCheck::Then::set)}}};
  const auto p = only(process(R"({"policy": "redis"})", def).problems, "redis.host", Rule::required);
  EXPECT_EQ(p.reason, "is required when 'policy' is 'redis'");
  EXPECT_TRUE(process(R"({"policy": "redis", "redis": {"host": "cache.local"}})", def).problems.empty());
  EXPECT_TRUE(process("{}", def).problems.empty());
}

TEST(EntityValidator, CheckIsSkippedWhenAFieldItReadsIsInvalid) {
  // Without the skip, "a": 5 would also make the pair look "both set".
  const auto def = checked({ok::schema::mutually_exclusive({"a", "b"})});
  only(process(R"({"a": 5, "b": "y"})", def).problems, "a", Rule::is_string);

  const auto cond = checked({ok::schema::conditional("n", {1}, "b", EntityCheck::Then::set)});
  only(process(R"({"n": 1, "b": 7})", cond).problems, "b", Rule::is_string);
}

TEST(EntityValidator, ChecksOfANestedRecordReportFullPaths) {
  const EntityDef def{
      .name = "nested",
      .record = {.fields = {fields::record("config", RecordDef{.fields = {fields::string("a"), fields::string("b")},
                                                               .checks = {ok::schema::at_least_one_of({"a", "b"})}})
                                .req(false)}}};
  const auto p = only(process(R"({"config": {}})", def).problems, "config.a", Rule::dependent_fields);
  EXPECT_EQ(p.dependents, (std::vector<std::string>{"config.a", "config.b"}));
}

TEST(EntityValidator, CustomCheckReceivesTheFilledRecord) {
  const auto def = checked(
      {ok::schema::custom_check({"n"}, [](const bj::object& record, std::string_view prefix, InvalidParameters& out) {
        // Every field is present, nulls included, so the check can index without guards.
        if (record.at("a").is_null() && record.at("n").is_int64() && record.at("n").get_int64() > 10) {
          out.push_back({.field = ok::schema::field_path(prefix, "a"), .rule = Rule::required, .reason = "big n"});
        }
      })});
  only(process(R"({"n": 11})", def).problems, "a", Rule::required);
  EXPECT_TRUE(process(R"({"n": 1})", def).problems.empty());
  // The check reads `n`; an invalid `n` skips it.
  only(process(R"({"n": "x"})", def).problems, "n", Rule::is_integer);
}

// ---------------------------------------------------------------- shorthands

EntityDef with_url_shorthand() {
  Shorthand url{.field = fields::string("url"),
                .expand = [](const bj::value& value, bj::object& record) -> std::optional<Problem> {
                  const std::string_view text = value.get_string();
                  const auto scheme = text.find("://");
                  if (scheme == std::string_view::npos) return Problem{Rule::invalid, "missing scheme in url"};
                  const auto rest = text.substr(scheme + 3);
                  const auto slash = rest.find('/');
                  record["protocol"] = text.substr(0, scheme);
                  record["host"] = rest.substr(0, slash);
                  if (slash != std::string_view::npos) record["path"] = rest.substr(slash);
                  return std::nullopt;
                }};
  return EntityDef{.name = "services",
                   .record = {.fields = {fields::string("protocol").def("http").one_of_values({"http", "https"}),
                                         typedefs::host("host"), typedefs::path("path")},
                              .shorthands = {url}}};
}

TEST(EntityValidator, ShorthandExpandsIntoRealFields) {
  const auto def = with_url_shorthand();
  const auto p = process(R"({"url": "https://api.example.com/v1"})", def);
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_EQ(p.entity, bj::parse(R"({"protocol": "https", "host": "api.example.com", "path": "/v1"})"));
  EXPECT_FALSE(p.entity.contains("url"));
}

TEST(EntityValidator, ShorthandProblems) {
  const auto def = with_url_shorthand();
  only(process(R"({"url": 5})", def).problems, "url", Rule::is_string);
  EXPECT_EQ(only(process(R"({"url": "example.com"})", def).problems, "url", Rule::invalid).reason,
            "missing scheme in url");
  // What it expands into is validated like any other input.
  only(process(R"({"url": "ftp://example.com"})", def).problems, "protocol", Rule::enum_);
  // A null shorthand is ignored.
  const auto ignored = process(R"({"url": null, "host": "h"})", def);
  EXPECT_TRUE(ignored.problems.empty()) << dump(ignored.problems);
  EXPECT_EQ(ignored.entity.at("host"), "h");
}

// ---------------------------------------------------------------- subschemas

const EntityDef& plugins() {
  static const Subschema rate_limiting{
      .name = "rate-limiting",
      .fields = {fields::record("config", RecordDef{.fields = {fields::integer("minute").greater_than(0)},
                                                    .checks = {ok::schema::at_least_one_of({"minute"})},
                                                    .keep_nulls = true})},
      .checks = {}};
  static const Subschema cors{
      .name = "cors",
      .fields = {fields::record("config", RecordDef{.fields = {fields::boolean("credentials").def(false)}})}};
  static const EntityDef def{
      .name = "plugins",
      .display = "Plugin",
      .record = {.fields = {typedefs::id(), fields::string("name").req(), fields::record("config", RecordDef{}),
                            fields::boolean("enabled").def(true)}},
      .subschema_key = "name",
      .subschema = [](std::string_view name) -> const Subschema* {
        if (name == "rate-limiting") return &rate_limiting;
        if (name == "cors") return &cors;
        return nullptr;
      },
      .subschema_names =
          [] {
            return std::vector<std::string>{"cors", "rate-limiting"};
          }};
  return def;
}

TEST(EntityValidator, SubschemaSelectsTheConfigRecord) {
  const auto p = process(R"({"name": "cors"})", plugins());
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  ASSERT_NE(p.subschema, nullptr);
  EXPECT_EQ(p.subschema->name, "cors");
  EXPECT_EQ(p.entity.at("config"), bj::parse(R"({"credentials": false})"));
  EXPECT_EQ(p.entity.at("enabled"), true);

  // The sub-schema's record is validated with full paths, and its checks run.
  const auto rl = process(R"({"name": "rate-limiting", "config": {"minute": 0}})", plugins());
  only(rl.problems, "config.minute", Rule::min);
  only(process(R"({"name": "rate-limiting"})", plugins()).problems, "config.minute", Rule::dependent_fields);
  only(process(R"({"name": "cors", "config": {"minute": 1}})", plugins()).problems, "config.minute",
       Rule::unknown_property);
}

TEST(EntityValidator, UnknownSubschemaIsAnEnumOnTheKey) {
  const auto p = process(R"({"name": "nope", "config": {}})", plugins());
  const auto problem = only(p.problems, "name", Rule::enum_);
  EXPECT_EQ(problem.reason, "Plugin [nope] is not available");
  EXPECT_EQ(problem.choices, bj::parse(R"(["cors", "rate-limiting"])").as_array());
  EXPECT_EQ(p.subschema, nullptr);
}

TEST(EntityValidator, SubschemaKeyMustBeAString) {
  only(process("{}", plugins()).problems, "name", Rule::required);
  only(process(R"({"name": null})", plugins()).problems, "name", Rule::required);
  only(process(R"({"name": 3})", plugins()).problems, "name", Rule::is_string);
}

TEST(EntityValidator, EffectiveRecordIsBuiltOncePerSubschema) {
  const auto* sub = plugins().subschema("cors");
  const auto& first = plugins().effective_record(sub);
  const auto& again = plugins().effective_record(sub);
  EXPECT_EQ(&first, &again);
  EXPECT_EQ(&plugins().effective_record(nullptr), &plugins().record);
  // The entity's own record is left unchanged.
  EXPECT_TRUE(plugins().record.find("config")->record->fields.empty());
  EXPECT_EQ(first.find("config")->record->fields.size(), 1u);
}

// ---------------------------------------------------------------- foreign keys

TEST(EntityValidator, ForeignIdIsAUuidInLowerCase) {
  const auto p = process(R"({"service": {"id": "0B4B6E43-6C5C-4C5E-9F5E-6A7F3C1D2E4F"}})", widgets());
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  EXPECT_EQ(p.entity.at("service"), bj::parse(R"({"id": "0b4b6e43-6c5c-4c5e-9f5e-6a7f3c1d2e4f"})"));
  EXPECT_TRUE(p.unresolved.empty());

  EXPECT_EQ(only(process(R"({"service": {"id": "billing"}})", widgets()).problems, "service.id", Rule::is_uuid).reason,
            "must be a valid UUID");
  only(process(R"({"service": {"id": 7}})", widgets()).problems, "service.id", Rule::is_uuid);
}

TEST(EntityValidator, ForeignByEndpointKeyIsLeftForTheCallerToResolve) {
  const auto p = process(R"({"service": {"name": "billing"}})", widgets());
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  ASSERT_EQ(p.unresolved.size(), 1u);
  const auto& u = p.unresolved.front();
  EXPECT_EQ(u.path, "service");
  EXPECT_EQ(u.field, "service");
  EXPECT_EQ(u.entity, "services");
  EXPECT_EQ(u.key, "name");
  EXPECT_EQ(u.value, "billing");
  EXPECT_EQ(p.entity.at("service"), bj::parse(R"({"name": "billing"})"));

  only(process(R"({"service": {"name": ""}})", widgets()).problems, "service.name", Rule::is_string);
}

TEST(EntityValidator, ForeignRefusesOtherMembersAndNeedsAnIdOrKey) {
  const auto extra = process(R"({"service": {"id": "0b4b6e43-6c5c-4c5e-9f5e-6a7f3c1d2e4f", "host": "x"}})", widgets());
  EXPECT_EQ(only(extra.problems, "service.host", Rule::unknown_property).reason, "property host should not exist");

  const auto empty = process(R"({"service": {}})", widgets());
  EXPECT_EQ(only(empty.problems, "service.id", Rule::required).reason, "is required (or the referenced entity's name)");

  // A foreign key without an endpoint key takes only an id.
  const EntityDef by_id_only{.name = "x", .record = {.fields = {fields::foreign("consumer", "consumers")}}};
  const auto by_name = process(R"({"consumer": {"username": "bob"}})", by_id_only);
  ASSERT_EQ(by_name.problems.size(), 2u) << dump(by_name.problems);
  EXPECT_EQ(find(by_name.problems, "consumer.username")->rule, Rule::unknown_property);
  ASSERT_NE(find(by_name.problems, "consumer.id"), nullptr);
  EXPECT_EQ(find(by_name.problems, "consumer.id")->reason, "is required");
  EXPECT_TRUE(by_name.unresolved.empty());
  EXPECT_TRUE(process(R"({"consumer": null})", by_id_only).problems.empty());
}

TEST(EntityValidator, UnresolvedReferenceInsideARecordNamesItsTopLevelField) {
  // `field` is "the top-level field holding it" (entity_validator.hpp): the caller replaces
  // that member of the entity once the reference is resolved.
  const RecordDef inner{.fields = {fields::foreign("service", "services", "name")}};
  const EntityDef def{.name = "n",
                      .record = {.fields = {fields::record(
                                     "outer", RecordDef{.fields = {fields::record("inner", inner).req(false)}})}}};
  const auto p = process(R"({"outer": {"inner": {"service": {"name": "billing"}}}})", def);
  EXPECT_TRUE(p.problems.empty()) << dump(p.problems);
  ASSERT_EQ(p.unresolved.size(), 1u);
  EXPECT_EQ(p.unresolved.front().path, "outer.inner.service");
  EXPECT_EQ(p.unresolved.front().value, "billing");
  EXPECT_EQ(p.unresolved.front().field, "outer");
}

// ---------------------------------------------------------------- render_record

TEST(EntityValidator, RenderDropsNullsOutsideKeepNullsRecords) {
  const RecordDef config{
      .fields = {fields::integer("minute"), fields::record("limits", RecordDef{.fields = {fields::integer("burst")}})},
      .keep_nulls = true};
  const RecordDef entity{
      .fields = {fields::string("name"), fields::string("title"), fields::record("config", config),
                 fields::record("plain", RecordDef{.fields = {fields::string("x"), fields::string("y")}})}};
  const auto value = bj::parse(R"({"name": "n", "title": null,
                                   "config": {"minute": null, "limits": {"burst": null}},
                                   "plain": {"x": null, "y": "v"}})")
                         .as_object();
  const auto rendered = ok::schema::render_record(value, entity);
  EXPECT_EQ(rendered, bj::parse(R"({"name": "n",
                                    "config": {"minute": null, "limits": {"burst": null}},
                                    "plain": {"y": "v"}})"));
  // Asked for, nulls are kept everywhere.
  EXPECT_EQ(ok::schema::render_record(value, entity, true), value);
}

TEST(EntityValidator, RenderRecursesIntoArraysOfRecords) {
  const RecordDef item{.fields = {fields::string("ip"), fields::integer("port")}};
  const RecordDef entity{.fields = {fields::array("sources", fields::record("", item))}};
  const auto value = bj::parse(R"({"sources": [{"ip": "10.0.0.1", "port": null}, {"ip": null, "port": 80}]})");
  EXPECT_EQ(ok::schema::render_record(value.as_object(), entity),
            bj::parse(R"({"sources": [{"ip": "10.0.0.1"}, {"port": 80}]})"));
}

// ---------------------------------------------------------------- helpers

TEST(EntityValidator, IsSetAndVaultReferences) {
  const bj::value empty_string = "", text = "x", empty_array = bj::array{}, zero = 0, no = false, null = nullptr;
  EXPECT_FALSE(ok::schema::is_set(nullptr));
  EXPECT_FALSE(ok::schema::is_set(&null));
  EXPECT_FALSE(ok::schema::is_set(&empty_string));
  EXPECT_FALSE(ok::schema::is_set(&empty_array));
  EXPECT_TRUE(ok::schema::is_set(&text));
  // 0 and false are values, not absences.
  EXPECT_TRUE(ok::schema::is_set(&zero));
  EXPECT_TRUE(ok::schema::is_set(&no));

  EXPECT_TRUE(ok::schema::is_vault_reference("{vault://env/secret}"));
  EXPECT_FALSE(ok::schema::is_vault_reference("vault://env/secret"));
  EXPECT_FALSE(ok::schema::is_vault_reference("{vault://env/secret"));
  EXPECT_EQ(ok::schema::field_path("", "a"), "a");
  EXPECT_EQ(ok::schema::field_path("config", "minute"), "config.minute");
}

TEST(EntityValidator, VaultReferenceSkipsTheChecksOfReferenceableFields) {
  const EntityDef def{.name = "v",
                      .record = {.fields = {fields::string("password").vault_referenceable().len(20),
                                            fields::string("plain").len(20)}}};
  EXPECT_TRUE(process(R"({"password": "{vault://env/pw}"})", def).problems.empty());
  only(process(R"({"password": "short"})", def).problems, "password", Rule::min_length);
  // Only referenceable fields take references.
  only(process(R"({"plain": "{vault://x}"})", def).problems, "plain", Rule::min_length);
}

TEST(EntityValidator, MustBeNullFields) {
  const EntityDef def{.name = "p", .record = {.fields = {fields::foreign("consumer", "consumers").null_only()}}};
  EXPECT_TRUE(process("{}", def).problems.empty());
  EXPECT_EQ(only(process(R"({"consumer": {"id": "0b4b6e43-6c5c-4c5e-9f5e-6a7f3c1d2e4f"}})", def).problems, "consumer",
                 Rule::is_null)
                .reason,
            "must be null");
}

}  // namespace
