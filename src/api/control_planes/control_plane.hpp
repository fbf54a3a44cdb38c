#pragma once
// The ControlPlane resource: its request schemas, its JSON form, and the translation of a
// validated request body into a store record.

#include "api/settings.hpp"
#include "schema/schema.hpp"
#include "store/records.hpp"

#include <boost/json/object.hpp>

namespace ok::api::control_planes {

inline constexpr std::array<std::string_view, 6> kClusterTypes = {
    "CLUSTER_TYPE_CONTROL_PLANE", "CLUSTER_TYPE_K8S_INGRESS_CONTROLLER", "CLUSTER_TYPE_CONTROL_PLANE_GROUP",
    "CLUSTER_TYPE_SERVERLESS",    "CLUSTER_TYPE_KAFKA_NATIVE_EVENT_PROXY", "CLUSTER_TYPE_SERVERLESS_V1"};

// Creates (Mode::create) and PATCHes (Mode::update) are validated against this one schema.
const schema::ObjectSchema& request_schema();

boost::json::object to_json(const store::ControlPlane& cp, const Settings& settings);

// Applies the fields present in a validated body to `cp` (create: onto defaults; update:
// a partial change; a label set to null is removed).
void apply(store::ControlPlane& cp, const boost::json::object& body);

}  // namespace ok::api::control_planes
