#pragma once
// Plugin configuration schemas: one sub-schema per plugin name (Kong's
// kong/plugins/<name>/schema.lua are the model), each in its own file, listed in catalog.cpp.
// A sub-schema is the plugin's `config` record with Kong's defaults and checks, plus what the
// plugin changes in the plugin entity: its `protocols` default, and whether it may be scoped
// to a consumer, route or service.

#include "schema/entity.hpp"

#include <string>
#include <vector>

namespace ok::api::config::plugins {

struct PluginOptions {
  bool no_consumer = false;  // Kong's typedefs.no_consumer (authentication plugins, cors …)
  bool no_route = false;
  bool no_service = false;
  // The plugin's `protocols` field; empty: typedefs::protocols_http() (most plugins).
  std::optional<schema::FieldDef> protocols;
};

// A plugin's sub-schema from its config record.
schema::Subschema plugin(std::string name, schema::RecordDef config, PluginOptions options = {});

// Every plugin openkonnect knows, in name order.
const std::vector<schema::Subschema>& catalog();
const schema::Subschema* find(std::string_view name);
std::vector<std::string> names();

// One function per plugin (plugins/<name>.cpp).
schema::Subschema acl();
schema::Subschema basic_auth();
schema::Subschema bot_detection();
schema::Subschema correlation_id();
schema::Subschema cors();
schema::Subschema file_log();
schema::Subschema hmac_auth();
schema::Subschema http_log();
schema::Subschema ip_restriction();
schema::Subschema jwt();
schema::Subschema key_auth();
schema::Subschema opentelemetry();
schema::Subschema post_function();
schema::Subschema pre_function();
schema::Subschema prometheus();
schema::Subschema proxy_cache();
schema::Subschema rate_limiting();
schema::Subschema request_size_limiting();
schema::Subschema request_termination();
schema::Subschema request_transformer();
schema::Subschema response_ratelimiting();
schema::Subschema response_transformer();
schema::Subschema tcp_log();
schema::Subschema udp_log();

}  // namespace ok::api::config::plugins
