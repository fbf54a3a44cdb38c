// libFuzzer target: request-target parsing (http::parse_target) and list-query parsing
// (api::parse_list_query: filters, sort, pages, labels).
//
// Input: a request target ("/v2/control-planes?filter[name][contains]=x&sort=created_at desc").
// A target that parses is read against copies of the list specs the handlers use: control
// planes (uuid, string, enumeration and boolean filters, sort, labels) and teams (the
// "labels.*" wildcard field and the `exists` operator).
//
// Invariants (abort on violation): only errors::ApiError 400 escapes, with at least one
// invalid parameter, each from the query with a non-empty field and reason; a query that
// parses has page size and number within their limits, a known sort field, and only filter
// fields and operators of the spec with at least one value each.

#include "api/list_query.hpp"
#include "errors/api_error.hpp"
#include "http/target.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using namespace ok;
using api::FilterKind;

[[noreturn]] void violation(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %.*s\n  %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

// Copies of api/control_planes/routes.cpp and api/identity/teams.cpp (file-local there).
const api::ListSpec& control_plane_spec() {
  static const api::ListSpec spec{
      .filters = {{"id", FilterKind::uuid, {"eq", "oeq"}, {}},
                  {"name", FilterKind::string, {"eq", "neq", "contains"}, {}},
                  {"cluster_type", FilterKind::enumeration, {"eq", "neq", "oeq"},
                   {"CLUSTER_TYPE_CONTROL_PLANE", "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", "CLUSTER_TYPE_CONTROL_PLANE_GROUP",
                    "CLUSTER_TYPE_SERVERLESS", "CLUSTER_TYPE_KAFKA_NATIVE_EVENT_PROXY", "CLUSTER_TYPE_SERVERLESS_V1"}},
                  {"cloud_gateway", FilterKind::boolean, {"eq"}, {}}},
      .sort_fields = {"created_at"},
      .labels = true,
  };
  return spec;
}

const api::ListSpec& team_spec() {
  static const api::ListSpec spec{.filters = {{"name", FilterKind::string, {"eq", "contains"}, {}},
                                              {"labels.*", FilterKind::string, {"eq", "contains", "exists"}, {}}}};
  return spec;
}

bool field_in_spec(const std::string& field, const api::ListSpec& spec, const api::FilterSpec** found) {
  for (const auto& f : spec.filters) {
    const bool match = f.field.ends_with(".*")
                           ? field.size() > f.field.size() - 1 && field.starts_with(f.field.substr(0, f.field.size() - 1))
                           : field == f.field;
    if (match) {
      *found = &f;
      return true;
    }
  }
  return false;
}

void check(const api::ListQuery& q, const api::ListSpec& spec) {
  if (q.page_size < 1 || q.page_size > spec.max_page_size) violation("page size out of range");
  if (q.page_number < 1 || q.page_number > 1'000'000'000) violation("page number out of range");
  if (q.sort_field &&
      std::find(spec.sort_fields.begin(), spec.sort_fields.end(), *q.sort_field) == spec.sort_fields.end()) {
    violation("unknown sort field accepted", *q.sort_field);
  }
  for (const auto& term : q.filters) {
    const api::FilterSpec* f = nullptr;
    if (!field_in_spec(term.field, spec, &f)) violation("unknown filter field accepted", term.field);
    if (std::find(f->operators.begin(), f->operators.end(), term.op) == f->operators.end()) {
      violation("unsupported filter operator accepted", term.op);
    }
    if (term.values.empty()) violation("a filter term without values", term.field);
  }
  if (!spec.labels && !q.labels.empty()) violation("labels accepted on a list without labels");
  for (const auto& [key, value] : q.labels) {
    if (key.empty() || (value && value->empty())) violation("an empty label selector accepted");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::Request request;
  request.target.assign(reinterpret_cast<const char*>(data), size);
  if (http::parse_target(request) != http::TargetError::none) {
    if (request.target_valid) violation("a target error left target_valid set");
    return 0;
  }
  for (const auto* spec : {&control_plane_spec(), &team_spec()}) {
    try {
      check(api::parse_list_query(request.query, *spec), *spec);
    } catch (const errors::ApiError& e) {
      if (e.status() != errors::Status::bad_request) violation("a non-400 ApiError", e.detail());
      if (e.invalid_parameters().empty()) violation("a 400 without invalid parameters", e.detail());
      for (const auto& p : e.invalid_parameters()) {
        if (p.source != errors::Source::query) violation("a query problem whose source is not the query", p.field);
        if (p.field.empty() || p.reason.empty()) violation("a query problem without field or reason", p.field);
      }
    }
  }
  return 0;
}
