#pragma once
// Entity descriptions for the gateway configuration, in the manner of Kong's
// kong/db/schema/entities/*.lua: an entity is a list of typed fields (most built from the shared
// typedefs in schema/typedefs.hpp) plus entity checks, shorthands and, for plugins, one
// sub-schema per plugin name. One description drives validation and default filling
// (schema/entity_validator.hpp), storage (unique keys, references, tags), the JSON output, list
// filters, the generic endpoints (api/config) and the two schema documents clients fetch
// (schema/entity_documents.hpp).
//
// A description is plain data, built once at start-up and then only read, from any thread.
// Descriptions read like Kong's Lua tables:
//
//   EntityDef{.name = "services", ...,
//             .record = {.fields = {typedefs::id(), typedefs::utf8_name("name").unique(),
//                                   integer("retries").def(5).between(0, 32767), ...}}}

#include "errors/invalid_parameter.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ok::schema {

enum class FieldType { string, integer, number, boolean, array, set, map, record, foreign, json };

// What a field's value is generated from when a create leaves it out.
enum class AutoValue {
  none,
  uuid,          // a random UUID (ids)
  random_key,    // 32 random URL-safe characters (key-auth `key`, jwt `key`/`secret`, hmac `secret`)
  timestamp_s,   // integer epoch seconds, set by the server on every write
  timestamp_ms,  // float epoch seconds with millisecond precision (targets)
};

// What deleting the referenced entity does to the entity holding the reference.
enum class OnDelete {
  restrict,                // the delete is refused (409) while the reference exists
  cascade,                 // the referencing entity is deleted too
  restrict_unless_forced,  // refused, unless the delete says force=true: then cascaded
};

// One problem with one value: the Konnect rule it breaks and why.
struct Problem {
  errors::Rule rule = errors::Rule::invalid;
  std::string reason;
};

// A check of one value that already has the field's type; returns the problem, if any.
using ValueCheck = std::function<std::optional<Problem>(const boost::json::value&)>;

struct RecordDef;

struct FieldDef {
  std::string name;
  FieldType type = FieldType::string;
  bool required = false;
  std::optional<boost::json::value> default_value;
  bool immutable = false;
  bool unique = false;
  bool must_be_null = false;   // Kong's `eq = null` (no_consumer, no_route …)
  std::string null_reason;     // why it must be null ("" : "must be null")
  bool referenceable = false;  // may hold a vault reference ("{vault://…}") instead of a value
  AutoValue auto_value = AutoValue::none;
  // Strings: length in characters (Kong rejects "" unless len_min is set to 0). Arrays, sets
  // and maps: number of items.
  std::optional<std::int64_t> len_min;
  std::optional<std::int64_t> len_max;
  std::vector<boost::json::value> one_of;
  std::optional<double> minimum;  // numbers (inclusive unless `exclusive_minimum`)
  std::optional<double> maximum;
  bool exclusive_minimum = false;  // Kong's `gt`
  std::vector<ValueCheck> checks;
  std::shared_ptr<const FieldDef> elements;  // array and set
  std::shared_ptr<const FieldDef> keys;      // map
  std::shared_ptr<const FieldDef> values;    // map
  std::shared_ptr<const RecordDef> record;   // record
  // foreign: the referenced entity, and the field by which a request may name it instead
  // of by id (its endpoint key, e.g. a service's `name`).
  std::string reference;
  std::string reference_key;
  OnDelete on_delete = OnDelete::restrict;
  // array of UUID strings that reference entities of this kind (services.ca_certificates).
  std::string element_reference;

  // Chainable modifiers: each returns a modified copy, so typedefs stay reusable.
  FieldDef req(bool value = true) const;
  FieldDef def(boost::json::value value) const;
  FieldDef no_default() const;
  FieldDef immutable_field() const;
  FieldDef unique_field() const;
  FieldDef null_only(std::string reason = {}) const;
  FieldDef vault_referenceable() const;
  FieldDef auto_generated(AutoValue value) const;
  FieldDef len(std::optional<std::int64_t> min, std::optional<std::int64_t> max = std::nullopt) const;
  FieldDef one_of_values(std::vector<boost::json::value> choices) const;
  FieldDef between(double min, double max) const;
  FieldDef greater_than(double min) const;
  FieldDef at_most(double max) const;
  FieldDef check(ValueCheck check) const;
  FieldDef cascade() const;  // on_delete = cascade
  FieldDef forced_cascade() const;
  FieldDef named(std::string name) const;
};

// A rule over several fields of one record. Field names are those of the record the check
// belongs to; problems are reported on the fields involved.
struct EntityCheck {
  enum class Kind {
    at_least_one_of,     // one of `fields` must be set
    only_one_of,         // exactly one of `fields` must be set
    mutually_required,   // all of `fields` or none
    mutually_exclusive,  // at most one of `fields`
    distinct,            // `fields` must not have equal values
    conditional,         // if `if_field` is one of `if_values`, `then_field` must be null / set / one of `then_values`
    custom,              // `custom` reports what it finds
  };
  enum class Then { null, set, one_of };

  Kind kind = Kind::custom;
  std::vector<std::string> fields;
  std::string if_field;
  std::vector<boost::json::value> if_values;
  std::string then_field;
  Then then = Then::null;
  std::vector<boost::json::value> then_values;
  // Receives the record (all fields present, nulls included) and the path prefix of its
  // fields; appends problems with full field paths.
  std::function<void(const boost::json::object& record, std::string_view prefix, errors::InvalidParameters& out)>
      custom;
  // Run only when every field the check reads is itself valid (Kong's behaviour, and what
  // keeps one mistake from being reported twice). Empty: the check runs regardless.
  std::vector<std::string> reads;
};

EntityCheck at_least_one_of(std::vector<std::string> fields);
EntityCheck only_one_of(std::vector<std::string> fields);
EntityCheck mutually_required(std::vector<std::string> fields);
EntityCheck mutually_exclusive(std::vector<std::string> fields);
EntityCheck distinct(std::vector<std::string> fields);
EntityCheck conditional(std::string if_field, std::vector<boost::json::value> if_values, std::string then_field,
                        EntityCheck::Then then, std::vector<boost::json::value> then_values = {});
EntityCheck custom_check(
    std::vector<std::string> reads,
    std::function<void(const boost::json::object&, std::string_view, errors::InvalidParameters&)> check);

// An input-only key that expands into real fields (a service's `url`). `expand` receives the
// value (already of the shorthand's type) and the record, which it changes; it returns a
// problem when the value cannot be expanded.
struct Shorthand {
  FieldDef field;
  std::function<std::optional<Problem>(const boost::json::value&, boost::json::object&)> expand;
};

struct RecordDef {
  std::vector<FieldDef> fields;
  std::vector<EntityCheck> checks;
  std::vector<Shorthand> shorthands;
  // Render members whose value is null. Entities leave them out (as Konnect does, and as
  // the spec's non-nullable properties require); plugin configurations keep them (as Kong
  // and Konnect show a plugin's whole configuration).
  bool keep_nulls = false;

  const FieldDef* find(std::string_view name) const;
};

// What a plugin name (the sub-schema key of plugins) changes in the plugin entity: its
// `config` record, and other fields replaced whole (a `protocols` default, `consumer` that
// must stay null …), plus checks of its own.
struct Subschema {
  std::string name;
  std::vector<FieldDef> fields;  // replace the entity's fields of the same name
  std::vector<EntityCheck> checks;
};

struct EntityDef {
  std::string name;          // Kong's entity name, also the store's type ("services", "keyauth_credentials")
  std::string display;       // for messages: "Service", "Key-auth credential"
  std::string endpoint_key;  // the unique field a path may name it by instead of its id ("" for none)
  RecordDef record;
  // Unique keys over several fields (Kong's cache keys), e.g. {name, route, service, consumer}.
  std::vector<std::vector<std::string>> unique_together;
  // Plugins: `subschema_key` names the field whose value selects a Subschema.
  std::string subschema_key;
  std::function<const Subschema*(std::string_view)> subschema;
  std::function<std::vector<std::string>()> subschema_names;

  const FieldDef* find(std::string_view field) const { return record.find(field); }
  // The record with the sub-schema's replacements applied; `record` itself when `sub` is null.
  // Built once per sub-schema and kept (safe from any thread).
  const RecordDef& effective_record(const Subschema* sub) const;

  // (The cache behind effective_record; shared by copies of the description.)
  struct EffectiveRecords {
    std::mutex mutex;
    std::map<const Subschema*, std::unique_ptr<const RecordDef>> records;
  };
  std::shared_ptr<EffectiveRecords> effective_records = std::make_shared<EffectiveRecords>();
};

// Builders for the field types; used with the modifiers above:
//   integer("retries").def(5).between(0, 32767)
namespace fields {
FieldDef string(std::string name);
FieldDef integer(std::string name);
FieldDef number(std::string name);
FieldDef boolean(std::string name);
FieldDef array(std::string name, FieldDef elements);
FieldDef set(std::string name, FieldDef elements);
FieldDef map(std::string name, FieldDef keys, FieldDef values);
FieldDef record(std::string name, RecordDef record);
FieldDef foreign(std::string name, std::string entity, std::string endpoint_key = "");
FieldDef json(std::string name);  // any JSON value
}  // namespace fields

}  // namespace ok::schema
