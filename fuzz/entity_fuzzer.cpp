// libFuzzer target: gateway configuration bodies (schema::process_entity) for every entity of
// the registry, and what a write does next with a valid one (render_record, the JSON it stores).
//
// Input: one byte that picks the entity (its index in api::config::Registry, modulo their
// number), then a request body. The body is parsed with the server's limits; a parsed body is
// processed against the entity's description.
//
// Invariants (abort on violation): processing never throws; every problem has a non-empty
// field and reason, min/max rules carry their limit, `enum` its choices, `dependent_fields` its
// dependents; the problems render as a problem body; without problems the entity has every
// field of its record and an `id`, and renders to JSON that parses back to an object.

#include "api/config/registry.hpp"
#include "errors/api_error.hpp"
#include "errors/problem.hpp"
#include "fuzz_env.hpp"
#include "json/parse.hpp"
#include "schema/entity_validator.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>

namespace {

using namespace ok;

void check_problems(const errors::InvalidParameters& problems, const std::string& entity) {
  for (const auto& p : problems) {
    if (p.field.empty() || p.reason.empty()) fuzz::violation("a problem without field or reason", entity);
    switch (p.rule) {
      case errors::Rule::min:
      case errors::Rule::max:
      case errors::Rule::min_length:
      case errors::Rule::max_length:
      case errors::Rule::min_items:
      case errors::Rule::max_items:
        if (!p.limit) fuzz::violation("a min/max rule without its limit", entity + ": " + p.field);
        break;
      case errors::Rule::enum_:
        if (p.choices.empty()) fuzz::violation("an enum rule without choices", entity + ": " + p.field);
        break;
      case errors::Rule::dependent_fields:
        if (p.dependents.empty()) fuzz::violation("dependent_fields without dependents", entity + ": " + p.field);
        break;
      default:
        break;
    }
  }
  if (problems.empty()) return;
  const auto body = errors::render_problem(errors::ApiError::bad_request(problems), 1);
  boost::system::error_code ec;
  if (!boost::json::parse(body, ec).is_object() || ec) fuzz::violation("a problem body is not JSON", entity);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const auto& entities = api::config::Registry::get().entities();
  const auto& type = *entities[data[0] % entities.size()];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  boost::json::value body;
  try {
    body = json::parse_body(text, 64);
  } catch (const errors::ApiError&) {
    return 0;  // not JSON: the request never reaches the schema
  }
  schema::Processed processed;
  try {
    processed = schema::process_entity(body, type.def);
  } catch (const std::exception& e) {
    fuzz::violation("process_entity threw", type.def.name + ": " + e.what());
  }
  check_problems(processed.problems, type.def.name);
  if (!processed.problems.empty()) return 0;
  const auto& record = type.def.effective_record(processed.subschema);
  for (const auto& field : record.fields) {
    if (!processed.entity.contains(field.name))
      fuzz::violation("a valid entity lacks a field", type.def.name + "." + field.name);
  }
  const auto* id = processed.entity.if_contains("id");
  if (!id || !id->is_string()) fuzz::violation("a valid entity has no id", type.def.name);
  const auto stored = boost::json::serialize(schema::render_record(processed.entity, record));
  boost::system::error_code ec;
  if (!boost::json::parse(stored, ec).is_object() || ec)
    fuzz::violation("a rendered entity is not a JSON object", type.def.name);
  return 0;
}
