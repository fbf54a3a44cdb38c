// prometheus (Kong's kong/plugins/prometheus/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;
namespace typedefs = schema::typedefs;

// Kong's custom_validator only asks whether the gateway node has the `prometheus_metrics`
// shared dict: a property of the data plane, not of the configuration, so nothing to check here.
schema::Subschema prometheus() {
  return plugin("prometheus",
                {.fields = {boolean("per_consumer").def(false), boolean("status_code_metrics").def(false),
                            boolean("ai_metrics").def(false), boolean("latency_metrics").def(false),
                            boolean("bandwidth_metrics").def(false), boolean("upstream_health_metrics").def(false),
                            boolean("wasm_metrics").def(false)}},
                {.protocols = typedefs::protocols()});
}

}  // namespace ok::api::config::plugins
