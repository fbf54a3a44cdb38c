#pragma once
// Validates a JSON request body against an ObjectSchema and reports every problem at once,
// in Konnect's vocabulary (rule names, `minimum`/`maximum`/`choices`). Written by hand
// rather than with a JSON Schema library because none in Debian emits Konnect's rule names
// and field paths; it stays small by supporting only the keywords resources use.

#include "errors/invalid_parameter.hpp"
#include "schema/schema.hpp"
#include "util/utf8.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace ok::schema {

enum class Mode {
  create,  // required fields must be present
  update,  // partial (PATCH): nothing is required; label values may be null to remove a key
};

errors::InvalidParameters validate(const boost::json::value& body, const ObjectSchema& schema, Mode mode);

// Appends the problems of one labels object at `prefix` ("labels").
void validate_labels(const boost::json::value& labels, std::string_view prefix, Mode mode, std::int64_t max_labels,
                     errors::InvalidParameters& out);

// Konnect label syntax, shared by every family that has labels.
std::string label_key_problem(std::string_view key);
std::string label_value_problem(std::string_view value);

bool is_uuid(std::string_view text);
// Serialization with object keys sorted, so that two equal values compare equal whatever the
// order their keys were sent in.
std::string canonical_json(const boost::json::value& value);
bool is_rfc3339(std::string_view text);
using util::is_utf8;
using util::utf8_length;

}  // namespace ok::schema

// Shared by the two validators (validator.cpp, entity_validator.cpp).
namespace ok::schema::detail {

void add(errors::InvalidParameters& out, std::string field, errors::Rule rule, std::string reason,
         std::optional<std::int64_t> limit = std::nullopt);

// An integer that fits in int64 (what every integer field is stored as). A double counts
// when it is a whole number within range; the range is checked before any conversion.
bool is_integral(const boost::json::value& v);

}  // namespace ok::schema::detail
