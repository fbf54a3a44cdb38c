// basic-auth (Kong's kong/plugins/basic-auth/schema.lua).

#include "api/config/plugins/plugins.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;

schema::Subschema basic_auth() {
  return plugin("basic-auth",
                {.fields = {string("anonymous"), boolean("hide_credentials").req().def(false),
                            string("realm").req().def("service")}},
                {.no_consumer = true});
}

}  // namespace ok::api::config::plugins
