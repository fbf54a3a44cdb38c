// ip-restriction (Kong's kong/plugins/ip-restriction/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

schema::Subschema ip_restriction() {
  return plugin("ip-restriction",
                {.fields = {array("allow", typedefs::ip_or_cidr("ip")), array("deny", typedefs::ip_or_cidr("ip")),
                            number("status").req(false), string("message").req(false)},
                 .checks = {schema::at_least_one_of({"allow", "deny"})}},
                {.protocols = typedefs::protocols().def(bj::array{"http", "https", "tcp", "tls", "grpc", "grpcs"})});
}

}  // namespace ok::api::config::plugins
