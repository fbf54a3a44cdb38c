#pragma once
// The sub-schema pre-function and post-function share (Kong's kong/plugins/pre-function/_schema.lua),
// defined in pre_function.cpp.

#include "schema/entity.hpp"

#include <string>

namespace ok::api::config::plugins {

schema::Subschema functions_plugin(std::string name);

}  // namespace ok::api::config::plugins
