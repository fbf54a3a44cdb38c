// correlation-id (Kong's kong/plugins/correlation-id/schema.lua).

#include "api/config/plugins/plugins.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;

schema::Subschema correlation_id() {
  return plugin(
      "correlation-id",
      {.fields = {string("header_name").def("Kong-Request-ID"),
                  string("generator").req().def("uuid#counter").one_of_values({"uuid", "uuid#counter", "tracker"}),
                  boolean("echo_downstream").req().def(false)}});
}

}  // namespace ok::api::config::plugins
