#include "declarative/deck_file.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ok::declarative::DeckFile;
using ok::declarative::FileError;
using ok::declarative::read_deck;
using ok::declarative::write_deck;
using ok::declarative::yaml_to_json;

DeckFile read_yaml(std::string_view yaml) { return read_deck(yaml_to_json(yaml)); }

std::string error_of(std::string_view yaml) {
  try {
    read_yaml(yaml);
  } catch (const FileError& e) {
    return e.what();
  }
  return "(no error)";
}

boost::json::value json(std::string_view text) { return boost::json::parse(text); }

constexpr std::string_view kNested = R"(
_format_version: "3.0"
_info:
  select_tags: [team-a]
services:
  - name: billing
    url: http://billing.internal:8080
    routes:
      - name: billing-api
        paths: [/billing]
        plugins:
          - name: rate-limiting
            config: {minute: 10}
    plugins:
      - name: cors
  - id: 3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01
    name: search
    routes:
      - name: search-api
consumers:
  - username: alice
    keyauth_credentials:
      - key: secret-key
    acls:
      - group: admins
    plugins:
      - name: request-termination
upstreams:
  - name: pool
    targets:
      - target: 10.0.0.1:80
certificates:
  - cert: CERT
    key: KEY
    id: 0b8a3c5e-1111-4a51-9e6a-0c2b8c1d9e02
    snis:
      - name: example.com
key_sets:
  - name: jwks
    keys:
      - kid: k1
        jwk: "{}"
ca_certificates:
  - cert: CA
plugins:
  - name: prometheus
)";

TEST(DeckFile, NestedEntitiesBecomeFlatCollectionsNamingTheirParents) {
  const auto file = read_yaml(kNested);
  EXPECT_EQ(file.format_version, "3.0");
  EXPECT_EQ(file.select_tags, std::vector<std::string>{"team-a"});
  EXPECT_EQ(file.size(), 18u);
  const auto& services = file.entities.at("services");
  ASSERT_EQ(services.size(), 2u);
  EXPECT_FALSE(services[0].contains("routes"));
  EXPECT_FALSE(services[0].contains("plugins"));
  const auto& routes = file.entities.at("routes");
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].at("service"), json(R"({"name": "billing"})"));                             // no id: by its name
  EXPECT_EQ(routes[1].at("service"), json(R"({"id": "3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01"})"));  // by id
  const auto& plugins = file.entities.at("plugins");
  ASSERT_EQ(plugins.size(), 4u);
  EXPECT_EQ(plugins[0].at("name"), "rate-limiting");  // depth first: the route's, then the service's
  EXPECT_EQ(plugins[0].at("route"), json(R"({"name": "billing-api"})"));
  EXPECT_FALSE(plugins[0].contains("service"));  // on the route only, as in decK
  EXPECT_EQ(plugins[1].at("service"), json(R"({"name": "billing"})"));
  EXPECT_EQ(plugins[2].at("consumer"), json(R"({"username": "alice"})"));
  EXPECT_FALSE(plugins[3].contains("service"));  // the global one
  EXPECT_EQ(file.entities.at("keyauth_credentials")[0].at("consumer"), json(R"({"username": "alice"})"));
  EXPECT_EQ(file.entities.at("acls")[0].at("consumer"), json(R"({"username": "alice"})"));
  EXPECT_EQ(file.entities.at("targets")[0].at("upstream"), json(R"({"name": "pool"})"));
  EXPECT_EQ(file.entities.at("snis")[0].at("certificate"), json(R"({"id": "0b8a3c5e-1111-4a51-9e6a-0c2b8c1d9e02"})"));
  EXPECT_EQ(file.entities.at("keys")[0].at("set"), json(R"({"name": "jwks"})"));
  EXPECT_EQ(file.entities.at("ca_certificates").size(), 1u);
}

TEST(DeckFile, WritingNestsChildrenUnderTheirOneParentSortedByKey) {
  DeckFile file;
  file.entities["services"] = {json(R"({"id": "s2", "name": "zeta"})").as_object(),
                               json(R"({"id": "s1", "name": "alpha"})").as_object()};
  file.entities["routes"] = {json(R"({"id": "r2", "name": "b", "service": {"id": "s1"}})").as_object(),
                             json(R"({"id": "r1", "name": "a", "service": {"id": "s1"}})").as_object(),
                             json(R"({"id": "r3", "name": "c", "service": {"id": "gone"}})").as_object()};
  file.entities["consumers"] = {json(R"({"id": "c1", "username": "alice"})").as_object()};
  file.entities["plugins"] = {
      json(R"({"id": "p1", "name": "cors", "route": {"id": "r1"}, "service": null})").as_object(),
      json(R"({"id": "p2", "name": "acl", "route": {"id": "r1"}, "consumer": {"id": "c1"}})").as_object()};
  const auto written = write_deck(file);
  const auto expected = json(R"({
    "_format_version": "3.0",
    "services": [
      {"id": "s1", "name": "alpha", "routes": [
        {"id": "r1", "name": "a", "plugins": [{"id": "p1", "name": "cors", "service": null}]},
        {"id": "r2", "name": "b"}]},
      {"id": "s2", "name": "zeta"}],
    "routes": [{"id": "r3", "name": "c", "service": {"id": "gone"}}],
    "consumers": [{"id": "c1", "username": "alice"}],
    "plugins": [{"id": "p2", "name": "acl", "route": {"id": "r1"}, "consumer": {"id": "c1"}}]
  })");
  EXPECT_EQ(written, expected) << boost::json::serialize(written);
}

TEST(DeckFile, ReadWriteReadKeepsEveryEntityAndReference) {
  const auto first = write_deck(read_yaml(kNested));
  const auto again = write_deck(read_deck(first));
  EXPECT_EQ(again, first) << boost::json::serialize(first);
  EXPECT_EQ(read_deck(first).size(), 18u);
  EXPECT_EQ(first.at("_info"), json(R"({"select_tags": ["team-a"]})"));
}

TEST(DeckFile, ShapesThatAreNotDecksAreRefusedWithTheirPlace) {
  EXPECT_EQ(error_of(""), "the file is empty: a decK file starts with _format_version: \"3.0\"");
  EXPECT_EQ(error_of("- a\n- b\n"), "the file holds a list, not a mapping of entities");
  EXPECT_EQ(error_of("services: []\n"),
            "_format_version is missing: decK files of Kong 3 say _format_version: \"3.0\"");
  EXPECT_EQ(error_of("_format_version: \"1.1\"\n"), "_format_version: only \"3.0\" is supported, found 1.1");
  EXPECT_EQ(error_of("_format_version: '3.0'\nservicez: []\n"), "servicez: not an entity decK files hold here");
  EXPECT_EQ(error_of("_format_version: '3.0'\nservices: {name: a}\n"), "services: expected a list, found a mapping");
  EXPECT_EQ(error_of("_format_version: '3.0'\nservices: [a]\n"), "services[0]: expected a mapping, found a string");
  EXPECT_EQ(error_of("_format_version: '3.0'\nservices:\n  - name: a\n    routes:\n      - name: r\n"
                     "        plugins: [{name: cors}, 7]\n"),
            "services[0].routes[0].plugins[1]: expected a mapping, found a number");
  EXPECT_EQ(error_of("_format_version: '3.0'\nservices:\n  - name: a\n    routes:\n      - name: r\n"
                     "        service: {name: b}\n"),
            "services[0].routes[0]: a Route nested under its Service names it already: leave [service] out");
  EXPECT_EQ(error_of("_format_version: '3.0'\nservices:\n  - host: example.com\n    routes:\n      - name: r\n"),
            "services[0].routes[0]: its Service has neither an id nor a [name] to be named by");
  EXPECT_EQ(error_of("_format_version: '3.0'\n_info: {defaults: {}}\n"),
            "_info.defaults: not supported (only select_tags is)");
  EXPECT_EQ(error_of("_format_version: '3.0'\n_info: {select_tags: [1]}\n"),
            "_info.select_tags: expected strings, found a number");
}

TEST(DeckFile, MembershipsAreReadFromConsumersAndGroupsAndWrittenInTheConsumer) {
  const auto file = read_yaml(R"(
_format_version: "3.0"
consumer_groups:
  - name: gold
    consumers:
      - username: bob
  - id: 3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01
    name: silver
consumers:
  - username: alice
    groups:
      - name: silver
      - {id: 3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e02, name: ignored}
  - username: bob
)");
  EXPECT_EQ(file.entities.at("consumer_group_consumers"),
            (std::vector<boost::json::object>{
                json(R"({"consumer_group": {"name": "gold"}, "consumer": {"username": "bob"}})").as_object(),
                json(R"({"consumer": {"username": "alice"}, "consumer_group": {"name": "silver"}})").as_object(),
                json(R"({"consumer": {"username": "alice"},
                         "consumer_group": {"id": "3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e02"}})")
                    .as_object()}));

  const auto written = write_deck(file);
  EXPECT_FALSE(written.as_object().contains("consumer_group_consumers"));
  EXPECT_EQ(written.at("consumers"), json(R"([
    {"username": "alice", "groups": [{"id": "3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e02"}, {"name": "silver"}]},
    {"username": "bob", "groups": [{"name": "gold"}]}])"));
  EXPECT_EQ(written.at("consumer_groups"), json(R"([
    {"name": "gold"}, {"id": "3d1c7a4e-5b7f-4a51-9e6a-0c2b8c1d9e01", "name": "silver"}])"));
}

TEST(DeckFile, MembershipsWhoseConsumerIsNotInTheFileAreWrittenInTheGroup) {
  DeckFile file;
  file.entities["consumer_groups"] = {json(R"({"id": "g1", "name": "gold"})").as_object()};
  file.entities["consumer_group_consumers"] = {
      json(R"({"consumer_group": {"id": "g1"}, "consumer": {"id": "c9"}})").as_object()};
  EXPECT_EQ(write_deck(file).at("consumer_groups"),
            json(R"([{"id": "g1", "name": "gold", "consumers": [{"id": "c9"}]}])"));
}

TEST(DeckFile, MembershipListsThatAreNotDecksAreRefusedWithTheirPlace) {
  EXPECT_EQ(error_of("_format_version: '3.0'\nconsumers:\n  - username: a\n    groups: gold\n"),
            "consumers[0].groups: expected a list, found a string");
  EXPECT_EQ(error_of("_format_version: '3.0'\nconsumers:\n  - username: a\n    groups: [{tags: [x]}]\n"),
            "consumers[0].groups[0]: names no consumer_group (by id or name)");
  EXPECT_EQ(error_of("_format_version: '3.0'\nconsumer_groups:\n  - tags: [x]\n    consumers: [{username: a}]\n"),
            "consumer_groups[0].consumers: its Consumer group has neither an id nor a [name] to be named by");
}

}  // namespace
