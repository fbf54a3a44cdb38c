// opentelemetry (Kong's kong/plugins/opentelemetry/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

// A record's default as Kong fills it: the given members over the record's own defaults (null
// where it has none), since a record default is used here as is.
bj::object record_default(const schema::FieldDef& field, bj::object given) {
  bj::object out;
  for (const auto& f : field.record->fields) {
    if (const auto* v = given.if_contains(f.name)) {
      out[f.name] = *v;
    } else {
      out[f.name] = f.default_value ? *f.default_value : bj::value(nullptr);
    }
  }
  return out;
}

// Kong's typedefs.propagation (kong/observability/tracing/propagation/schema.lua); the formats
// are those of propagation/utils.lua, b3-single sharing b3's extractor.
schema::FieldDef propagation() {
  const std::vector<bj::value> extractors = {"w3c", "b3", "jaeger", "ot", "datadog", "aws", "gcp", "instana"};
  const std::vector<bj::value> injectors = {"w3c",     "b3",  "b3-single", "jaeger", "ot",
                                            "datadog", "aws", "gcp",       "instana"};
  std::vector<bj::value> inject = {"preserve"};
  inject.insert(inject.end(), injectors.begin(), injectors.end());
  return record("propagation", {.fields = {array("extract", string("format").one_of_values(extractors)),
                                           array("clear", typedefs::header_name("header")),
                                           array("inject", string("format").one_of_values(inject)),
                                           string("default_format").req().one_of_values(injectors)}});
}

schema::FieldDef with_default(const schema::FieldDef& field, bj::object given) {
  return field.def(record_default(field, std::move(given)));
}

}  // namespace

schema::Subschema opentelemetry() {
  return plugin("opentelemetry",
                {.fields = {typedefs::url("traces_endpoint").vault_referenceable(),
                            typedefs::url("logs_endpoint").vault_referenceable(),
                            map("headers", typedefs::header_name("name"), string("value").vault_referenceable()),
                            // Kong's custom_validator (values are strings, numbers or booleans, strings non-empty)
                            // always holds once the values are non-empty strings.
                            map("resource_attributes", string("key"), string("value")),
                            with_default(typedefs::queue(), {{"max_batch_size", 200}}), integer("batch_span_count"),
                            integer("batch_flush_delay"), typedefs::timeout("connect_timeout").def(1000),
                            typedefs::timeout("send_timeout").def(5000), typedefs::timeout("read_timeout").def(5000),
                            string("http_response_header_for_traceid"),
                            string("header_type")
                                .req(false)
                                .def("preserve")
                                .one_of_values({"preserve", "ignore", "b3", "b3-single", "w3c", "jaeger", "ot", "aws",
                                                "gcp", "datadog", "instana"}),
                            number("sampling_rate").between(0, 1).req(false),
                            with_default(propagation(), {{"default_format", "w3c"}})},
                 .checks = {schema::at_least_one_of({"traces_endpoint", "logs_endpoint"})}});
}

}  // namespace ok::api::config::plugins
