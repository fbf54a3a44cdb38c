// post-function (Kong's kong/plugins/post-function/schema.lua, i.e. pre-function/_schema.lua).

#include "api/config/plugins/functions_schema.hpp"
#include "api/config/plugins/plugins.hpp"

namespace ok::api::config::plugins {

schema::Subschema post_function() { return functions_plugin("post-function"); }

}  // namespace ok::api::config::plugins
