// udp-log (Kong's kong/plugins/udp-log/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;

}  // namespace

schema::Subschema udp_log() {
  return plugin("udp-log",
                {.fields = {typedefs::host("host").req(), typedefs::port("port").req(), number("timeout").def(10000),
                            typedefs::lua_code("custom_fields_by_lua")}},
                {.protocols = typedefs::protocols()});
}

}  // namespace ok::api::config::plugins
