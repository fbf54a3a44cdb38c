// request-size-limiting (Kong's kong/plugins/request-size-limiting/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;

schema::Subschema request_size_limiting() {
  return plugin(
      "request-size-limiting",
      {.fields = {integer("allowed_payload_size").def(128),
                  string("size_unit").req().def("megabytes").one_of_values({"megabytes", "kilobytes", "bytes"}),
                  boolean("require_content_length").req().def(false)}});
}

}  // namespace ok::api::config::plugins
