#include "schema/entity_documents.hpp"

#include <cmath>

namespace ok::schema {
namespace {

namespace bj = boost::json;

std::string_view kong_type(FieldType t) {
  switch (t) {
    case FieldType::string:
      return "string";
    case FieldType::integer:
      return "integer";
    case FieldType::number:
      return "number";
    case FieldType::boolean:
      return "boolean";
    case FieldType::array:
      return "array";
    case FieldType::set:
      return "set";
    case FieldType::map:
      return "map";
    case FieldType::record:
      return "record";
    case FieldType::foreign:
      return "foreign";
    case FieldType::json:
      return "json";
  }
  return "string";
}

bj::value number_value(double d) {
  if (d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<std::int64_t>(d);
  return d;
}

bj::array one_of_array(const std::vector<bj::value>& values) {
  bj::array out;
  for (const auto& v : values) out.push_back(v);
  return out;
}

bj::object kong_field(const FieldDef& f) {
  bj::object o;
  o["type"] = kong_type(f.type);
  if (f.required) o["required"] = true;
  if (f.default_value) o["default"] = *f.default_value;
  if (f.immutable) o["immutable"] = true;
  if (f.unique) o["unique"] = true;
  if (f.referenceable) o["referenceable"] = true;
  if (f.auto_value != AutoValue::none) o["auto"] = true;
  if (f.auto_value == AutoValue::uuid) o["uuid"] = true;
  if (f.auto_value == AutoValue::timestamp_s || f.auto_value == AutoValue::timestamp_ms) o["timestamp"] = true;
  if (f.must_be_null) o["eq"] = nullptr;
  if (f.len_min) o["len_min"] = *f.len_min;
  if (f.len_max) o["len_max"] = *f.len_max;
  if (!f.one_of.empty()) o["one_of"] = one_of_array(f.one_of);
  // Kong's vocabulary has `between` and `gt`; a one-sided inclusive bound has no word of its own.
  if (f.minimum && f.maximum && !f.exclusive_minimum) {
    o["between"] = bj::array{number_value(*f.minimum), number_value(*f.maximum)};
  } else if (f.minimum && f.exclusive_minimum) {
    o["gt"] = number_value(*f.minimum);
  }
  if (f.elements) o["elements"] = kong_field(*f.elements);
  if (f.keys) o["keys"] = kong_field(*f.keys);
  if (f.values) o["values"] = kong_field(*f.values);
  if (f.record) o["fields"] = kong_schema(*f.record).at("fields");
  if (f.type == FieldType::foreign) {
    o["reference"] = f.reference;
    o["on_delete"] = f.on_delete == OnDelete::cascade ? "cascade" : "restrict";
  }
  return o;
}

bj::object json_field(const FieldDef& f) {
  bj::object o;
  switch (f.type) {
    case FieldType::string:
      o["type"] = "string";
      break;
    case FieldType::integer:
      o["type"] = "integer";
      break;
    case FieldType::number:
      o["type"] = "number";
      break;
    case FieldType::boolean:
      o["type"] = "boolean";
      break;
    case FieldType::array:
    case FieldType::set:
      o["type"] = "array";
      if (f.elements) o["items"] = json_field(*f.elements);
      if (f.type == FieldType::set) o["uniqueItems"] = true;
      if (f.len_min) o["minItems"] = *f.len_min;
      if (f.len_max) o["maxItems"] = *f.len_max;
      break;
    case FieldType::map:
      o["type"] = "object";
      if (f.values) o["additionalProperties"] = json_field(*f.values);
      break;
    case FieldType::record:
      o = json_schema(*f.record);
      break;
    case FieldType::foreign:
      o["type"] = "object";
      o["properties"] = bj::object{{"id", bj::object{{"type", "string"}}}};
      break;
    case FieldType::json:
      break;
  }
  if (f.type == FieldType::string) {
    if (f.len_min) o["minLength"] = *f.len_min;
    if (f.len_max) o["maxLength"] = *f.len_max;
  }
  if (f.type == FieldType::integer || f.type == FieldType::number) {
    if (f.minimum) o[f.exclusive_minimum ? "exclusiveMinimum" : "minimum"] = number_value(*f.minimum);
    if (f.maximum) o["maximum"] = number_value(*f.maximum);
  }
  if (!f.one_of.empty()) o["enum"] = one_of_array(f.one_of);
  if (f.default_value) o["default"] = *f.default_value;
  return o;
}

}  // namespace

bj::object kong_schema(const RecordDef& record) {
  bj::array fields;
  for (const auto& f : record.fields) fields.push_back(bj::object{{f.name, kong_field(f)}});
  return bj::object{{"fields", std::move(fields)}};
}

bj::object json_schema(const RecordDef& record) {
  bj::object properties;
  bj::array required;
  for (const auto& f : record.fields) {
    properties[f.name] = json_field(f);
    if (f.required && !f.default_value && f.auto_value == AutoValue::none && f.type != FieldType::record) {
      required.emplace_back(f.name);
    }
  }
  bj::object out{{"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) out["required"] = std::move(required);
  return out;
}

}  // namespace ok::schema
