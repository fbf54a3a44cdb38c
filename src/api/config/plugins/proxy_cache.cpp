// proxy-cache (Kong's kong/plugins/proxy-cache/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/typedefs.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

// Kong's entity check that the memory strategy's dictionary_name names an nginx shared dict
// is not reproduced: there are no shared dicts here, so any name is accepted.
schema::Subschema proxy_cache() {
  return plugin(
      "proxy-cache",
      {.fields = {array("response_code", integer("response_code").between(100, 900))
                      .req()
                      .def(bj::array{200, 301, 404})
                      .len(1),
                  array("request_method",
                        string("request_method").one_of_values({"HEAD", "GET", "POST", "PATCH", "PUT"}))
                      .req()
                      .def(bj::array{"GET", "HEAD"}),
                  array("content_type", string("content_type")).req().def(bj::array{"text/plain", "application/json"}),
                  integer("cache_ttl").def(300).greater_than(0), string("strategy").req().one_of_values({"memory"}),
                  boolean("cache_control").req().def(false), boolean("ignore_uri_case").def(false),
                  integer("storage_ttl"),
                  record("memory", {.fields = {string("dictionary_name").req().def("kong_db_cache")}}),
                  array("vary_query_params", string("vary_query_param")), array("vary_headers", string("vary_header")),
                  record("response_headers", {.fields = {boolean("age").def(true), boolean("X-Cache-Status").def(true),
                                                         boolean("X-Cache-Key").def(true)}})}},
      {.protocols = typedefs::protocols()});
}

}  // namespace ok::api::config::plugins
