#pragma once
// Validates a request body against an EntityDef and fills in what it leaves out, as Kong's
// schema processing does for an insert or an upsert: defaults, generated values (ids, keys),
// records expanded with their own defaults, sets de-duplicated, shorthands expanded. Every
// problem is reported at once, in Konnect's rule vocabulary, with nested field paths
// (`config.minute`, `paths[2]`, `healthchecks.active.timeout`).
//
// Written by hand for the same reason as schema/validator.hpp: no JSON Schema library in
// Debian speaks Konnect's rule names, and Kong's schema semantics (defaults filled into
// nested records, sets, entity checks, shorthands) are not JSON Schema's.

#include "schema/entity.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace ok::schema {

// A foreign key that a request gave by the referenced entity's endpoint key
// (`"service": {"name": "billing"}`), for the caller to resolve to an id (it needs the store).
// Until then the value holds the key as given.
struct UnresolvedReference {
  std::string path;    // where the reference is: "service"
  std::string field;   // the top-level field holding it: "service"
  std::string entity;  // the referenced entity: "services"
  std::string key;     // "name"
  std::string value;   // "billing"
};

struct Processed {
  boost::json::object entity;  // every field of the record, nulls included
  errors::InvalidParameters problems;
  std::vector<UnresolvedReference> unresolved;
  const Subschema* subschema = nullptr;  // plugins: the one the plugin's name selected
};

// Timestamps are not set here: the write sets them (schema/entity_row.hpp).
Processed process_entity(const boost::json::value& body, const EntityDef& def);

// One record on its own; `prefix` goes before every field path ("config").
boost::json::object process_record(const boost::json::object& input, const RecordDef& record, std::string_view prefix,
                                   errors::InvalidParameters& problems, std::vector<UnresolvedReference>* unresolved);

// The JSON a client sees: null members are left out, except in records that keep them (and
// the records inside those).
boost::json::object render_record(const boost::json::object& value, const RecordDef& record, bool keep_nulls = false);

// Kong's notion of "set" used by entity checks: not null, not "", not an empty array or object.
bool is_set(const boost::json::value* value);

// A vault reference ("{vault://env/secret}") in place of a value: it cannot be checked here.
bool is_vault_reference(std::string_view text);
bool is_vault_reference(const boost::json::value* value);

// Joins a path prefix and a field name: "config" + "minute" -> "config.minute".
std::string field_path(std::string_view prefix, std::string_view name);

}  // namespace ok::schema
