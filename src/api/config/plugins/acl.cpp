// acl (Kong's kong/plugins/acl/schema.lua).

#include "api/config/plugins/plugins.hpp"

namespace ok::api::config::plugins {

using namespace schema::fields;

schema::Subschema acl() {
  return plugin("acl",
                {.fields = {array("allow", string("group")), array("deny", string("group")),
                            boolean("hide_groups_header").req().def(false),
                            boolean("always_use_authenticated_groups").req().def(false)},
                 .checks = {schema::only_one_of({"allow", "deny"}), schema::at_least_one_of({"allow", "deny"})}},
                {.no_consumer = true});
}

}  // namespace ok::api::config::plugins
