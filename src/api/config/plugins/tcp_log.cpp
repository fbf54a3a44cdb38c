// tcp-log (Kong's kong/plugins/tcp-log/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;

}  // namespace

schema::Subschema tcp_log() {
  return plugin("tcp-log",
                {.fields = {typedefs::host("host").req(), typedefs::port("port").req(), number("timeout").def(10000),
                            number("keepalive").def(60000), boolean("tls").req().def(false), string("tls_sni"),
                            typedefs::lua_code("custom_fields_by_lua")}},
                {.protocols = typedefs::protocols()});
}

}  // namespace ok::api::config::plugins
