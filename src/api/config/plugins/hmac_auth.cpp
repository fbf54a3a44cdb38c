// hmac-auth (Kong's kong/plugins/hmac-auth/schema.lua).

#include "api/config/plugins/plugins.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;
namespace bj = boost::json;

schema::Subschema hmac_auth() {
  const std::vector<bj::value> algorithms = {"hmac-sha1", "hmac-sha256", "hmac-sha384", "hmac-sha512"};
  return plugin("hmac-auth",
                {.fields = {boolean("hide_credentials").req().def(false), number("clock_skew").def(300).greater_than(0),
                            string("anonymous"), boolean("validate_request_body").req().def(false),
                            array("enforce_headers", string("header")).def(bj::array{}),
                            array("algorithms", string("algorithm").one_of_values(algorithms))
                                .def(bj::array(algorithms.begin(), algorithms.end())),
                            string("realm").req(false)}},
                {.no_consumer = true});
}

}  // namespace ok::api::config::plugins
