#include "api/config/registry.hpp"
#include "declarative/diff.hpp"
#include "schema/entity_validator.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ok::declarative::DeckFile;
using ok::declarative::Operation;
using ok::declarative::Plan;
using ok::declarative::plan_sync;
using ok::declarative::PlanError;
using ok::declarative::read_deck;
using ok::declarative::yaml_to_json;

DeckFile read_yaml(std::string_view yaml) { return read_deck(yaml_to_json(yaml)); }

// Ids in the order they are made: "id-1", "id-2" …
struct Ids {
  int next = 0;
  std::string operator()() { return "00000000-0000-4000-8000-" + fmt_id(++next); }
  static std::string fmt_id(int n) {
    std::string s = std::to_string(n);
    return std::string(12 - s.size(), '0') + s;
  }
};

// What the control plane holds after a plan's upserts ran: each body as the server stores
// and renders it (defaults filled, references as ids, timestamps set).
DeckFile applied(const Plan& plan, DeckFile held = {}) {
  for (const auto& op : plan.upserts) {
    auto processed = ok::schema::process_entity(op.body, op.entity->def);
    EXPECT_TRUE(processed.problems.empty()) << op.label;
    const auto& record = op.entity->def.effective_record(processed.subschema);
    auto rendered = ok::schema::render_record(processed.entity, record, record.keep_nulls);
    rendered["created_at"] = 1700000000;
    auto& list = held.entities[op.entity->def.name];
    std::erase_if(list, [&](const boost::json::object& o) { return o.at("id") == boost::json::value(op.id); });
    list.push_back(rendered);
  }
  for (const auto& op : plan.removals) {
    std::erase_if(held.entities[op.entity->def.name],
                  [&](const boost::json::object& o) { return o.at("id") == boost::json::value(op.id); });
  }
  return held;
}

std::vector<std::string> labels(const std::vector<Operation>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(op.label);
  return out;
}

constexpr std::string_view kFile = R"(
_format_version: "3.0"
services:
  - name: billing
    host: billing.internal
    routes:
      - name: billing-api
        paths: [/billing]
        plugins:
          - name: key-auth
consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-key
)";

TEST(DeckDiff, AnEmptyControlPlaneGetsEveryEntityParentsFirstWithReferencesAsIds) {
  Ids ids;
  const auto plan = plan_sync(read_yaml(kFile), {}, std::ref(ids));
  EXPECT_TRUE(plan.removals.empty());
  EXPECT_EQ(labels(plan.upserts),
            (std::vector<std::string>{"service billing (00000000-0000-4000-8000-000000000001)",
                                      "route billing-api (00000000-0000-4000-8000-000000000002)",
                                      "consumer alice (00000000-0000-4000-8000-000000000003)",
                                      "plugin key-auth (00000000-0000-4000-8000-000000000004)",
                                      "key-auth credential 00000000-0000-4000-8000-000000000005 (consumer alice)"}));
  for (const auto& op : plan.upserts) EXPECT_EQ(op.kind, Operation::Kind::create) << op.label;
  EXPECT_EQ(plan.upserts[1].body.at("service"),
            boost::json::parse(R"({"id": "00000000-0000-4000-8000-000000000001"})"));
  EXPECT_EQ(plan.upserts[3].body.at("route"), boost::json::parse(R"({"id": "00000000-0000-4000-8000-000000000002"})"));
  EXPECT_EQ(plan.upserts[4].body.at("consumer"),
            boost::json::parse(R"({"id": "00000000-0000-4000-8000-000000000003"})"));
}

TEST(DeckDiff, TheSameFileAgainChangesNothing) {
  Ids ids;
  const auto file = read_yaml(kFile);
  const auto held = applied(plan_sync(file, {}, std::ref(ids)));
  const auto again = plan_sync(file, held, std::ref(ids));
  EXPECT_TRUE(again.empty()) << (again.upserts.empty() ? ""
                                                       : again.upserts.front().label + ": " +
                                                             (again.upserts.front().fields.empty()
                                                                  ? std::string("create")
                                                                  : again.upserts.front().fields.front()));
  EXPECT_EQ(again.unchanged, 5u);
}

TEST(DeckDiff, AChangedFieldIsAnUpdateOfThatFieldOnTheEntityFoundByName) {
  Ids ids;
  const auto held = applied(plan_sync(read_yaml(kFile), {}, std::ref(ids)));
  std::string changed(kFile);
  changed.replace(changed.find("host: billing.internal"), 22, "host: billing.internal\n    retries: 2");
  const auto plan = plan_sync(read_yaml(changed), held, std::ref(ids));
  ASSERT_EQ(plan.upserts.size(), 1u);
  EXPECT_EQ(plan.upserts[0].kind, Operation::Kind::update);
  EXPECT_EQ(plan.upserts[0].id, "00000000-0000-4000-8000-000000000001");  // found by name
  EXPECT_EQ(plan.upserts[0].fields, std::vector<std::string>{"retries"});
  EXPECT_EQ(plan.upserts[0].current.at("retries"), 5);
  EXPECT_TRUE(plan.removals.empty());
}

TEST(DeckDiff, WhatTheFileNoLongerHoldsIsRemovedChildrenFirst) {
  Ids ids;
  const auto held = applied(plan_sync(read_yaml(kFile), {}, std::ref(ids)));
  const auto plan = plan_sync(read_yaml("_format_version: '3.0'\nconsumers:\n  - username: alice\n"
                                        "    keyauth_credentials:\n      - key: alice-key\n"),
                              held, std::ref(ids));
  EXPECT_TRUE(plan.upserts.empty());
  EXPECT_EQ(labels(plan.removals),
            (std::vector<std::string>{"plugin key-auth (00000000-0000-4000-8000-000000000004)",
                                      "route billing-api (00000000-0000-4000-8000-000000000002)",
                                      "service billing (00000000-0000-4000-8000-000000000001)"}));
}

TEST(DeckDiff, APluginWithoutIdIsFoundByItsNameAndWhatItAppliesTo) {
  Ids ids;
  const auto held = applied(plan_sync(read_yaml(kFile), {}, std::ref(ids)));
  std::string changed(kFile);
  changed.replace(changed.find("- name: key-auth"), 16,
                  "- name: key-auth\n            config: {hide_credentials: true}");
  const auto plan = plan_sync(read_yaml(changed), held, std::ref(ids));
  ASSERT_EQ(plan.upserts.size(), 1u);
  EXPECT_EQ(plan.upserts[0].id, "00000000-0000-4000-8000-000000000004");
  EXPECT_EQ(plan.upserts[0].fields, std::vector<std::string>{"config"});
}

TEST(DeckDiff, EveryProblemOfEveryEntityIsReportedAndNothingIsPlanned) {
  Ids ids;
  const auto file = read_yaml(R"(
_format_version: "3.0"
services:
  - name: billing
    host: billing.internal
    port: 70000
routes:
  - name: orphan
    paths: [/x]
    service: {name: nowhere}
plugins:
  - name: no-such-plugin
)");
  try {
    plan_sync(file, {}, std::ref(ids));
    FAIL() << "planned";
  } catch (const PlanError& e) {
    ASSERT_EQ(e.problems().size(), 3u);
    EXPECT_EQ(e.problems()[0].label, "service billing (00000000-0000-4000-8000-000000000001)");
    ASSERT_EQ(e.problems()[0].reasons.size(), 1u);
    EXPECT_NE(e.problems()[0].reasons[0].find("port: "), std::string::npos) << e.problems()[0].reasons[0];
    EXPECT_EQ(e.problems()[1].reasons.front(), "service: no service [nowhere] in the file or in the control plane");
    EXPECT_NE(e.problems()[2].reasons.front().find("no-such-plugin"), std::string::npos)
        << e.problems()[2].reasons.front();
  }
}

TEST(DeckDiff, TwoEntitiesOfTheFileThatAreOneHeldEntityAreAProblem) {
  Ids ids;
  const auto held = applied(plan_sync(read_yaml(kFile), {}, std::ref(ids)));
  std::string twice(kFile);
  twice += "  - username: alice\n";  // a second consumer alice
  try {
    plan_sync(read_yaml(twice), held, std::ref(ids));
    FAIL() << "planned";
  } catch (const PlanError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].reasons, std::vector<std::string>{"the file holds this entity twice"});
  }
}

TEST(DeckDiff, SelectTagsGoOnEveryEntityOfTheFile) {
  Ids ids;
  const auto plan = plan_sync(
      read_yaml("_format_version: '3.0'\n_info: {select_tags: [team-a]}\nservices:\n  - name: s\n    host: h\n"
                "    tags: [mine]\n"),
      {}, std::ref(ids));
  ASSERT_EQ(plan.upserts.size(), 1u);
  EXPECT_EQ(plan.upserts[0].body.at("tags"), boost::json::parse(R"(["mine", "team-a"])"));
}

TEST(DeckDiff, TwoNewEntitiesOfTheFileThatAreOneAreAProblem) {
  Ids ids;
  std::string twice(kFile);
  twice += "  - username: alice\n";  // a second consumer alice, neither in the control plane
  try {
    plan_sync(read_yaml(twice), {}, std::ref(ids));
    FAIL() << "planned";
  } catch (const PlanError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].reasons, std::vector<std::string>{"the file holds this entity twice"});
  }
}

constexpr std::string_view kGroups = R"(
_format_version: "3.0"
consumer_groups:
  - name: gold
  - name: silver
    consumers:
      - username: bob
consumers:
  - username: alice
    groups:
      - name: gold
  - username: bob
)";

// The server lists a group's consumers, not memberships: what `config` reads has no ids.
DeckFile as_listed(DeckFile held) {
  for (auto& m : held.entities["consumer_group_consumers"]) m.erase("id");
  return held;
}

TEST(DeckDiff, MembershipsAreCreatedAfterBothSidesNamedByTheirNamesAndNotAgain) {
  Ids ids;
  const auto file = read_yaml(kGroups);
  const auto plan = plan_sync(file, {}, std::ref(ids));
  ASSERT_EQ(plan.upserts.size(), 6u);
  EXPECT_EQ(plan.upserts[4].label, "consumer group membership (consumer group silver, consumer bob)");
  EXPECT_EQ(plan.upserts[5].label, "consumer group membership (consumer group gold, consumer alice)");
  EXPECT_EQ(plan.upserts[5].body.at("consumer"),
            boost::json::parse(R"({"id": "00000000-0000-4000-8000-000000000001"})"));
  EXPECT_EQ(plan.upserts[5].body.at("consumer_group"),
            boost::json::parse(R"({"id": "00000000-0000-4000-8000-000000000003"})"));

  const auto held = as_listed(applied(plan));
  const auto again = plan_sync(file, held, std::ref(ids));
  EXPECT_TRUE(again.empty()) << (again.upserts.empty() ? "" : again.upserts.front().label);
  EXPECT_EQ(again.unchanged, 6u);

  std::string moved(kGroups);
  moved.replace(moved.find("      - name: gold"), 18, "      - name: silver");  // alice into silver
  const auto change = plan_sync(read_yaml(moved), held, std::ref(ids));
  EXPECT_EQ(labels(change.upserts),
            std::vector<std::string>{"consumer group membership (consumer group silver, consumer alice)"});
  EXPECT_EQ(labels(change.removals),
            std::vector<std::string>{"consumer group membership (consumer group gold, consumer alice)"});
}

TEST(DeckDiff, AMembershipListedInBothItsConsumerAndItsGroupIsAProblem) {
  Ids ids;
  std::string both(kGroups);
  both += "    groups:\n      - name: silver\n";  // bob, already listed in silver
  try {
    plan_sync(read_yaml(both), {}, std::ref(ids));
    FAIL() << "planned";
  } catch (const PlanError& e) {
    ASSERT_EQ(e.problems().size(), 1u);
    EXPECT_EQ(e.problems()[0].label, "consumer group membership (consumer group silver, consumer bob)");
  }
}

}  // namespace
