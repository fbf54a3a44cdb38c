#pragma once
// The gateway configuration entities, one description per file (Kong's
// kong/db/schema/entities/*.lua are the model). The registry (api/config/registry.cpp) lists
// them and says how they nest.

#include "api/config/config_entity.hpp"

namespace ok::api::config::entities {

ConfigEntity services();
ConfigEntity routes();
ConfigEntity consumers();
ConfigEntity consumer_groups();
ConfigEntity consumer_group_members();  // the membership of consumers in groups (no routes of its own)
ConfigEntity plugins();
ConfigEntity upstreams();
ConfigEntity targets();
ConfigEntity certificates();
ConfigEntity snis();
ConfigEntity ca_certificates();
ConfigEntity vaults();
ConfigEntity keys();
ConfigEntity key_sets();
// Consumer credentials.
ConfigEntity acls();
ConfigEntity basic_auth();
ConfigEntity hmac_auth();
ConfigEntity jwt();
ConfigEntity key_auth();
ConfigEntity mtls_auth();

}  // namespace ok::api::config::entities
