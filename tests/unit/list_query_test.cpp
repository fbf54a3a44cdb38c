#include "api/list_query.hpp"

#include "errors/api_error.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ok::api::FilterKind;
using ok::api::FilterSpec;
using ok::api::ListQuery;
using ok::api::ListSpec;
using ok::api::parse_list_query;
using ok::errors::ApiError;
using ok::errors::InvalidParameter;
using ok::errors::InvalidParameters;
using ok::errors::Rule;
using ok::errors::Source;
using ok::http::QueryParams;

constexpr const char* kUuidA = "6f1c1d1e-2b3a-4c5d-8e9f-0a1b2c3d4e5f";
constexpr const char* kUuidB = "7a2b3c4d-5e6f-4a0b-9c1d-2e3f4a5b6c7d";

// The control-plane list contract: filter[id][eq|oeq], filter[name][eq|neq|contains],
// filter[cluster_type][eq|oeq|neq], filter[cloud_gateway]=bool, labels, sort=created_at.
ListSpec control_plane_spec() {
  ListSpec s;
  s.filters = {
      FilterSpec{"id", FilterKind::uuid, {"eq", "oeq"}, {}},
      FilterSpec{"name", FilterKind::string, {"eq", "neq", "contains"}, {}},
      FilterSpec{"cluster_type", FilterKind::enumeration, {"eq", "oeq", "neq"},
                 {"CLUSTER_TYPE_CONTROL_PLANE", "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"}},
      FilterSpec{"cloud_gateway", FilterKind::boolean, {"eq"}, {}},
  };
  s.sort_fields = {"created_at", "name"};
  s.labels = true;
  return s;
}

std::string dump(const InvalidParameters& params) {
  std::string out;
  for (const auto& p : params) {
    out += p.field + " [" + std::string(ok::errors::rule_name(p.rule)) + "] " + p.reason + "\n";
  }
  return out;
}

// Parses, expecting a 400; returns its invalid parameters (every one checked for source query).
InvalidParameters problems(const QueryParams& params, const ListSpec& spec = control_plane_spec()) {
  try {
    parse_list_query(params, spec);
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status(), ok::errors::Status::bad_request);
    for (const auto& p : e.invalid_parameters()) {
      EXPECT_EQ(p.source, Source::query) << p.field;
      EXPECT_FALSE(p.reason.empty()) << p.field;
    }
    return e.invalid_parameters();
  }
  ADD_FAILURE() << "query was accepted";
  return {};
}

InvalidParameter only(const QueryParams& params, std::string_view field, Rule rule,
                      const ListSpec& spec = control_plane_spec()) {
  auto out = problems(params, spec);
  if (out.size() != 1u) {
    ADD_FAILURE() << "expected one problem\n" << dump(out);
    return {};
  }
  EXPECT_EQ(out[0].field, field) << dump(out);
  EXPECT_EQ(out[0].rule, rule) << dump(out);
  return out[0];
}

ListQuery ok_query(const QueryParams& params, const ListSpec& spec = control_plane_spec()) {
  try {
    return parse_list_query(params, spec);
  } catch (const ApiError& e) {
    ADD_FAILURE() << "rejected: " << dump(e.invalid_parameters());
    return {};
  }
}

// ---------------------------------------------------------------- pages

TEST(ListQuery, Defaults) {
  auto q = ok_query({});
  EXPECT_EQ(q.page_size, 100);
  EXPECT_EQ(q.page_number, 1);
  EXPECT_FALSE(q.sort_field.has_value());
  EXPECT_FALSE(q.sort_descending);
  EXPECT_TRUE(q.filters.empty());
  EXPECT_TRUE(q.labels.empty());

  auto spec = control_plane_spec();
  spec.default_page_size = 10;
  EXPECT_EQ(ok_query({}, spec).page_size, 10);
}

TEST(ListQuery, PageSizeAndNumber) {
  auto q = ok_query({{"page[size]", "25"}, {"page[number]", "3"}});
  EXPECT_EQ(q.page_size, 25);
  EXPECT_EQ(q.page_number, 3);
  EXPECT_EQ(ok_query({{"page[size]", "1"}}).page_size, 1);
  EXPECT_EQ(ok_query({{"page[size]", "1000"}}).page_size, 1000);
}

TEST(ListQuery, PageSizeBounds) {
  auto p = only({{"page[size]", "0"}}, "page[size]", Rule::min);
  EXPECT_EQ(p.limit, 1);
  p = only({{"page[size]", "-5"}}, "page[size]", Rule::min);
  EXPECT_EQ(p.limit, 1);
  p = only({{"page[size]", "1001"}}, "page[size]", Rule::max);
  EXPECT_EQ(p.limit, 1000);

  auto spec = control_plane_spec();
  spec.max_page_size = 50;
  EXPECT_EQ(ok_query({{"page[size]", "50"}}, spec).page_size, 50);
  p = only({{"page[size]", "51"}}, "page[size]", Rule::max, spec);
  EXPECT_EQ(p.limit, 50);
}

TEST(ListQuery, PageNumberBounds) {
  auto p = only({{"page[number]", "0"}}, "page[number]", Rule::min);
  EXPECT_EQ(p.limit, 1);
  only({{"page[number]", "-1"}}, "page[number]", Rule::min);
}

TEST(ListQuery, NonIntegerPages) {
  for (const char* v : {"abc", "1.5", "10abc", "1e3", " 5", "0x10", "99999999999999999999999"}) {
    only({{"page[size]", v}}, "page[size]", Rule::is_integer);
    only({{"page[number]", v}}, "page[number]", Rule::is_integer);
  }
}

TEST(ListQuery, EmptyPageValuesAreUnset) {
  auto q = ok_query({{"page[size]", ""}, {"page[number]", ""}});
  EXPECT_EQ(q.page_size, 100);
  EXPECT_EQ(q.page_number, 1);
}

TEST(ListQuery, EmptyLabelsAreUnset) {
  EXPECT_TRUE(ok_query({{"labels", ""}}).labels.empty());
}

TEST(ListQuery, UnrelatedParametersAreIgnored) {
  auto q = ok_query({{"foo", "bar"}, {"q", "search"}, {"page[after]", "x"}});
  EXPECT_EQ(q.page_size, 100);
  EXPECT_TRUE(q.filters.empty());
}

// ---------------------------------------------------------------- sort

TEST(ListQuery, SortAscendingByDefault) {
  auto q = ok_query({{"sort", "created_at"}});
  ASSERT_TRUE(q.sort_field.has_value());
  EXPECT_EQ(*q.sort_field, "created_at");
  EXPECT_FALSE(q.sort_descending);
}

TEST(ListQuery, SortExplicitDirection) {
  auto q = ok_query({{"sort", "created_at desc"}});
  EXPECT_EQ(q.sort_field, "created_at");
  EXPECT_TRUE(q.sort_descending);
  q = ok_query({{"sort", "name asc"}});
  EXPECT_EQ(q.sort_field, "name");
  EXPECT_FALSE(q.sort_descending);
}

TEST(ListQuery, UnknownSortKeyListsChoices) {
  for (const char* v : {"bogus", "bogus desc", "created_at sideways", "Created_at", "created_at desc extra"}) {
    auto p = only({{"sort", v}}, "sort", Rule::enum_);
    ASSERT_EQ(p.choices.size(), 2u) << v;
    EXPECT_EQ(p.choices[0].as_string(), "created_at");
    EXPECT_EQ(p.choices[1].as_string(), "name");
  }
}

TEST(ListQuery, SortOnAListWithoutSortFields) {
  auto spec = control_plane_spec();
  spec.sort_fields.clear();
  auto out = problems({{"sort", "created_at"}}, spec);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].field, "sort");
}

// ---------------------------------------------------------------- filters

TEST(ListQuery, FilterOperators) {
  auto q = ok_query({{"filter[name][eq]", "prod"},
                     {"filter[name][neq]", "dev"},
                     {"filter[name][contains]", "ro"},
                     {"filter[id][oeq]", std::string(kUuidA) + "," + kUuidB}});
  ASSERT_EQ(q.filters.size(), 4u);
  EXPECT_EQ(q.filters[0].field, "name");
  EXPECT_EQ(q.filters[0].op, "eq");
  EXPECT_EQ(q.filters[0].values, (std::vector<std::string>{"prod"}));
  EXPECT_EQ(q.filters[1].op, "neq");
  EXPECT_EQ(q.filters[1].values, (std::vector<std::string>{"dev"}));
  EXPECT_EQ(q.filters[2].op, "contains");
  EXPECT_EQ(q.filters[2].values, (std::vector<std::string>{"ro"}));
  EXPECT_EQ(q.filters[3].field, "id");
  EXPECT_EQ(q.filters[3].op, "oeq");
  EXPECT_EQ(q.filters[3].values, (std::vector<std::string>{kUuidA, kUuidB}));
}

TEST(ListQuery, CommaIsNotASeparatorForSingleValueOperators) {
  auto q = ok_query({{"filter[name][contains]", "a,b"}});
  ASSERT_EQ(q.filters.size(), 1u);
  EXPECT_EQ(q.filters[0].values, (std::vector<std::string>{"a,b"}));
}

TEST(ListQuery, BareFilterMeansEq) {
  auto q = ok_query({{"filter[name]", "prod"}, {"filter[cloud_gateway]", "true"}});
  ASSERT_EQ(q.filters.size(), 2u);
  EXPECT_EQ(q.filters[0].field, "name");
  EXPECT_EQ(q.filters[0].op, "eq");
  EXPECT_EQ(q.filters[0].values, (std::vector<std::string>{"prod"}));
  EXPECT_EQ(q.filters[1].field, "cloud_gateway");
  EXPECT_EQ(q.filters[1].op, "eq");
  EXPECT_EQ(q.filters[1].values, (std::vector<std::string>{"true"}));
}

TEST(ListQuery, UnsupportedOperator) {
  auto p = only({{"filter[name][gt]", "x"}}, "[filter][name][gt]", Rule::invalid);
  EXPECT_NE(p.reason.find("gt"), std::string::npos) << p.reason;
  only({{"filter[name][oeq]", "a,b"}}, "[filter][name][oeq]", Rule::invalid);
  only({{"filter[cloud_gateway][neq]", "true"}}, "[filter][cloud_gateway][neq]", Rule::invalid);
}

TEST(ListQuery, UnsupportedField) {
  auto p = only({{"filter[description][eq]", "x"}}, "[filter][description][eq]", Rule::invalid);
  EXPECT_NE(p.reason.find("description"), std::string::npos) << p.reason;
  only({{"filter[description]", "x"}}, "[filter][description]", Rule::invalid);
}

TEST(ListQuery, MalformedFilterKeys) {
  for (const char* key : {"filter[name", "filter[]", "filter[name][eq", "filter[name][eq][x]", "filter[name][]",
                          "filter"}) {
    auto out = problems({{key, "v"}});
    ASSERT_EQ(out.size(), 1u) << key;
    EXPECT_EQ(out[0].rule, Rule::invalid) << key;
  }
}

TEST(ListQuery, BooleanFilterValues) {
  EXPECT_EQ(ok_query({{"filter[cloud_gateway]", "false"}}).filters.at(0).values.at(0), "false");
  for (const char* v : {"yes", "1", "TRUE", ""}) {
    only({{"filter[cloud_gateway]", v}}, "[filter][cloud_gateway]", Rule::is_boolean);
  }
  only({{"filter[cloud_gateway][eq]", "maybe"}}, "[filter][cloud_gateway][eq]", Rule::is_boolean);
}

TEST(ListQuery, UuidFilterValues) {
  EXPECT_EQ(ok_query({{"filter[id][eq]", kUuidA}}).filters.at(0).values.at(0), kUuidA);
  only({{"filter[id][eq]", "not-a-uuid"}}, "[filter][id][eq]", Rule::is_uuid);
  only({{"filter[id]", "123"}}, "[filter][id]", Rule::is_uuid);
  // Every item of an oeq list is checked.
  only({{"filter[id][oeq]", std::string(kUuidA) + ",nope"}}, "[filter][id][oeq]", Rule::is_uuid);
}

TEST(ListQuery, EnumFilterValues) {
  auto q = ok_query({{"filter[cluster_type][oeq]", "CLUSTER_TYPE_CONTROL_PLANE,CLUSTER_TYPE_K8S_INGRESS_CONTROLLER"}});
  ASSERT_EQ(q.filters.size(), 1u);
  EXPECT_EQ(q.filters[0].values.size(), 2u);

  auto p = only({{"filter[cluster_type][eq]", "CLUSTER_TYPE_NOPE"}}, "[filter][cluster_type][eq]", Rule::enum_);
  ASSERT_EQ(p.choices.size(), 2u);
  EXPECT_EQ(p.choices[0].as_string(), "CLUSTER_TYPE_CONTROL_PLANE");
  EXPECT_EQ(p.choices[1].as_string(), "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER");
  only({{"filter[cluster_type][oeq]", "CLUSTER_TYPE_CONTROL_PLANE,bad"}}, "[filter][cluster_type][oeq]", Rule::enum_);
}

TEST(ListQuery, SeveralTermsOnOneFieldAreKept) {
  auto q = ok_query({{"filter[name][contains]", "prod"}, {"filter[name][neq]", "prod-old"}});
  ASSERT_EQ(q.filters.size(), 2u);
  EXPECT_EQ(q.filters[0].op, "contains");
  EXPECT_EQ(q.filters[1].op, "neq");
}

// ---------------------------------------------------------------- labels

TEST(ListQuery, LabelSelectors) {
  auto q = ok_query({{"labels", "env:prod,existCheck,team:a-b"}});
  ASSERT_EQ(q.labels.size(), 3u);
  EXPECT_EQ(q.labels[0].first, "env");
  EXPECT_EQ(q.labels[0].second, std::optional<std::string>("prod"));
  EXPECT_EQ(q.labels[1].first, "existCheck");
  EXPECT_FALSE(q.labels[1].second.has_value());
  EXPECT_EQ(q.labels[2].first, "team");
  EXPECT_EQ(q.labels[2].second, std::optional<std::string>("a-b"));
}

TEST(ListQuery, MalformedLabelSelectors) {
  for (const char* v : {":prod", "env:", "a,,b", ",", "env:prod,"}) {
    auto out = problems({{"labels", v}});
    ASSERT_GE(out.size(), 1u) << v;
    for (const auto& p : out) {
      EXPECT_EQ(p.field, "labels") << v;
      EXPECT_EQ(p.rule, Rule::is_label) << v;
    }
  }
}

TEST(ListQuery, LabelsIgnoredWhereTheListHasNone) {
  auto spec = control_plane_spec();
  spec.labels = false;
  EXPECT_TRUE(ok_query({{"labels", "env:prod"}}, spec).labels.empty());
}

// ---------------------------------------------------------------- everything at once

TEST(ListQuery, EveryProblemIsReportedAtOnce) {
  auto out = problems({{"page[size]", "0"},
                       {"page[number]", "x"},
                       {"sort", "bogus"},
                       {"filter[name][gt]", "x"},
                       {"filter[nope][eq]", "x"},
                       {"filter[cloud_gateway]", "maybe"},
                       {"filter[id]", "nope"},
                       {"labels", ":x"},
                       {"filter[name][eq]", "fine"}});
  ASSERT_EQ(out.size(), 8u) << dump(out);
  const std::pair<const char*, Rule> expected[] = {
      {"page[size]", Rule::min},
      {"page[number]", Rule::is_integer},
      {"sort", Rule::enum_},
      {"[filter][name][gt]", Rule::invalid},
      {"[filter][nope][eq]", Rule::invalid},
      {"[filter][cloud_gateway]", Rule::is_boolean},
      {"[filter][id]", Rule::is_uuid},
      {"labels", Rule::is_label},
  };
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].field, expected[i].first);
    EXPECT_EQ(out[i].rule, expected[i].second) << out[i].field;
  }
}

}  // namespace
