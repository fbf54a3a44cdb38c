#pragma once
// Resource descriptions. A resource is described once as an ObjectSchema, in the style of
// Kong's entity schemas: a list of typed fields with their limits. The same description
// drives request validation (schema/validator.hpp, which speaks Konnect's rule names) and
// documents what the resource accepts; a resource module adds only what a schema cannot say.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ok::schema {

enum class Kind {
  string,
  integer,
  number,
  boolean,
  uuid,       // string holding a UUID
  date_time,  // RFC 3339 string
  enumeration,
  labels,  // map of string -> string, validated with the `is_label` rule
  object,
  array,
  any,
};

struct ObjectSchema;

// Returns an empty string when `value` is acceptable, else the reason it is not (reported
// with rule `matches_regex`).
using StringCheck = std::function<std::string(std::string_view value)>;

struct Field {
  std::string name;
  Kind kind = Kind::string;
  bool required = false;
  bool nullable = false;
  bool read_only = false;                  // present in responses only; in a request body it is unknown_property
  bool immutable = false;                  // set at creation only: in an update (Mode::update), unknown_property
  std::optional<std::int64_t> min_length;  // strings, in characters
  std::optional<std::int64_t> max_length;
  std::optional<std::int64_t> minimum;  // integers and numbers
  std::optional<std::int64_t> maximum;
  std::optional<std::int64_t> min_items;  // arrays; for labels, the number of keys
  std::optional<std::int64_t> max_items;
  bool unique_items = false;
  std::vector<std::string> choices;      // enumeration
  const ObjectSchema* object = nullptr;  // object, or the items of an array of objects
  Kind items = Kind::any;                // array item kind
  StringCheck check;
  // A failed `check` is reported as rule `matches_regex` (a format: an email, a label), or as
  // `invalid` when the value is checked as a whole (a PEM certificate).
  bool check_is_whole_value = false;
};

struct ObjectSchema {
  std::vector<Field> fields;
  bool additional_properties = false;  // false: unknown keys are `unknown_property`

  const Field* find(std::string_view name) const {
    for (const auto& f : fields) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
};

}  // namespace ok::schema
