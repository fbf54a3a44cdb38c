#pragma once
// One entry of a 400's `invalid_parameters`. The spec defines five mutually exclusive shapes
// (InvalidParameterStandard, ...MinimumLength, ...MaximumLength, ...ChoiceItem,
// ...DependentItem, each with additionalProperties:false); which keys are emitted follows
// from the rule, so an entry can never carry a key its shape forbids.

#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ok::errors {

// The subset of Konnect's 34 rule names that openkonnect emits.
enum class Rule {
  required,
  is_string,
  is_integer,
  is_number,
  is_boolean,
  is_array,
  is_object,
  is_uuid,
  is_date_time,
  is_label,
  is_null,
  matches_regex,
  unknown_property,
  missing_reference,
  invalid,
  min_length,
  max_length,
  min_items,
  max_items,
  min,
  max,
  enum_,  // "enum"
  dependent_fields,
};

std::string_view rule_name(Rule rule);

enum class Source { body, query, path };

std::string_view source_name(Source source);

struct InvalidParameter {
  std::string field;
  Rule rule = Rule::invalid;
  std::string reason;
  Source source = Source::body;
  std::optional<std::int64_t> limit;   // `minimum` for min_* rules, `maximum` for max_* rules
  boost::json::array choices;          // for Rule::enum_
  std::vector<std::string> dependents; // for Rule::dependent_fields
};

using InvalidParameters = std::vector<InvalidParameter>;

}  // namespace ok::errors
