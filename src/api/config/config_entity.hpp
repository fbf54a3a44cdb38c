#pragma once
// A gateway configuration entity as the API serves it: its schema (schema::EntityDef) plus
// what only the API knows — its path, path parameter, permission family, list filters — and
// the few rules a schema cannot say, as hooks. One ConfigEntity per file under
// api/config/entities/; the registry (api/config/registry.hpp) lists them and how they nest.

#include "errors/invalid_parameter.hpp"
#include "schema/entity.hpp"
#include "store/entity_store.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <vector>

namespace ok::api::config {

// What a hook may consult: the store, within the request's control plane.
struct HookContext {
  store::EntityStore& store;
  const store::Scope& scope;
};

struct ConfigEntity {
  schema::EntityDef def;
  std::string path;       // the collection's path segment: "services", "ca_certificates", "key-sets"
  std::string param;      // the item's path parameter: "ServiceId"
  std::string json_name;  // its name for decK's JSON schemas and the validate endpoint: "service"
  // Which roles may write it (auth::decide_config): "services", "routes", "plugins", "consumers",
  // "certificates", "snis", "upstreams", "keys", "vaults".
  std::string family;
  bool top_level = true;         // has top-level routes at all
  bool top_level_writes = true;  // top-level POST/PUT/DELETE (credentials: reads only)
  bool top_level_item = true;    // top-level GET of one (targets: the list only)
  // filter[<name>][eq|contains] on lists: the filter's name and the member it reads.
  std::vector<std::pair<std::string, std::string>> name_filters;
  std::vector<std::string> query_filters;  // plain parameters that filter by equality (custom_id)
  // The endpoint key is unique within this parent field, not the whole control plane
  // (a target within its upstream): lookups by key then need the parent.
  std::string key_scope;

  // After schema processing: checks that need more than the schema (OpenSSL, other entities)
  // and values computed from others (a CA certificate's digest). Problems join the 400.
  std::function<void(HookContext&, boost::json::object& entity, errors::InvalidParameters& problems)> complete;
  // Inside the write transaction, after the entity's row is written (a certificate's SNIs).
  // `input` is the request body as sent.
  std::function<void(store::EntityTransaction&, const boost::json::object& entity, const boost::json::object& input)>
      after_put;
  // Members computed on read (a certificate's `snis`).
  std::function<void(store::EntityStore&, const store::Scope&, boost::json::object& rendered)> decorate;
  // An endpoint-key value as given in a path, normalized as the field's values are ("host" ->
  // "host:8000" for targets).
  std::function<std::string(std::string_view)> normalize_key;
  // Removed from the stored body (input-only members such as a certificate's `snis`).
  std::vector<std::string> transient;
};

}  // namespace ok::api::config
