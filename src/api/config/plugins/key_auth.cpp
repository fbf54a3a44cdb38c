// key-auth (Kong's kong/plugins/key-auth/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

schema::Subschema key_auth() {
  return plugin("key-auth",
                {.fields = {array("key_names", typedefs::header_name("key_name")).req().def(bj::array{"apikey"}),
                            boolean("hide_credentials").req().def(false), string("anonymous"),
                            boolean("key_in_header").req().def(true), boolean("key_in_query").req().def(true),
                            boolean("key_in_body").req().def(false), boolean("run_on_preflight").req().def(true),
                            string("realm")}},
                {.no_consumer = true});
}

}  // namespace ok::api::config::plugins
