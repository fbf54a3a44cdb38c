#include "schema/entity.hpp"

namespace ok::schema {

namespace bj = boost::json;

FieldDef FieldDef::req(bool value) const {
  FieldDef f = *this;
  f.required = value;
  return f;
}

FieldDef FieldDef::def(bj::value value) const {
  FieldDef f = *this;
  f.default_value = std::move(value);
  return f;
}

FieldDef FieldDef::no_default() const {
  FieldDef f = *this;
  f.default_value.reset();
  return f;
}

FieldDef FieldDef::immutable_field() const {
  FieldDef f = *this;
  f.immutable = true;
  return f;
}

FieldDef FieldDef::unique_field() const {
  FieldDef f = *this;
  f.unique = true;
  return f;
}

FieldDef FieldDef::null_only(std::string reason) const {
  FieldDef f = *this;
  f.must_be_null = true;
  f.null_reason = std::move(reason);
  return f;
}

FieldDef FieldDef::vault_referenceable() const {
  FieldDef f = *this;
  f.referenceable = true;
  return f;
}

FieldDef FieldDef::auto_generated(AutoValue value) const {
  FieldDef f = *this;
  f.auto_value = value;
  return f;
}

FieldDef FieldDef::len(std::optional<std::int64_t> min, std::optional<std::int64_t> max) const {
  FieldDef f = *this;
  f.len_min = min;
  f.len_max = max;
  return f;
}

FieldDef FieldDef::one_of_values(std::vector<bj::value> choices) const {
  FieldDef f = *this;
  f.one_of = std::move(choices);
  return f;
}

FieldDef FieldDef::between(double min, double max) const {
  FieldDef f = *this;
  f.minimum = min;
  f.maximum = max;
  f.exclusive_minimum = false;
  return f;
}

FieldDef FieldDef::greater_than(double min) const {
  FieldDef f = *this;
  f.minimum = min;
  f.exclusive_minimum = true;
  return f;
}

FieldDef FieldDef::at_most(double max) const {
  FieldDef f = *this;
  f.maximum = max;
  return f;
}

FieldDef FieldDef::check(ValueCheck c) const {
  FieldDef f = *this;
  f.checks.push_back(std::move(c));
  return f;
}

FieldDef FieldDef::cascade() const {
  FieldDef f = *this;
  f.on_delete = OnDelete::cascade;
  return f;
}

FieldDef FieldDef::forced_cascade() const {
  FieldDef f = *this;
  f.on_delete = OnDelete::restrict_unless_forced;
  return f;
}

FieldDef FieldDef::named(std::string n) const {
  FieldDef f = *this;
  f.name = std::move(n);
  return f;
}

namespace {

EntityCheck of_fields(EntityCheck::Kind kind, std::vector<std::string> names) {
  EntityCheck c;
  c.kind = kind;
  c.reads = names;
  c.fields = std::move(names);
  return c;
}

}  // namespace

EntityCheck at_least_one_of(std::vector<std::string> names) {
  return of_fields(EntityCheck::Kind::at_least_one_of, std::move(names));
}
EntityCheck only_one_of(std::vector<std::string> names) {
  return of_fields(EntityCheck::Kind::only_one_of, std::move(names));
}
EntityCheck mutually_required(std::vector<std::string> names) {
  return of_fields(EntityCheck::Kind::mutually_required, std::move(names));
}
EntityCheck mutually_exclusive(std::vector<std::string> names) {
  return of_fields(EntityCheck::Kind::mutually_exclusive, std::move(names));
}
EntityCheck distinct(std::vector<std::string> names) {
  return of_fields(EntityCheck::Kind::distinct, std::move(names));
}

EntityCheck conditional(std::string if_field, std::vector<bj::value> if_values, std::string then_field,
                        EntityCheck::Then then, std::vector<bj::value> then_values) {
  EntityCheck c;
  c.kind = EntityCheck::Kind::conditional;
  c.reads = {if_field, then_field};
  c.if_field = std::move(if_field);
  c.if_values = std::move(if_values);
  c.then_field = std::move(then_field);
  c.then = then;
  c.then_values = std::move(then_values);
  return c;
}

EntityCheck custom_check(std::vector<std::string> reads,
                         std::function<void(const bj::object&, std::string_view, errors::InvalidParameters&)> check) {
  EntityCheck c;
  c.kind = EntityCheck::Kind::custom;
  c.reads = std::move(reads);
  c.custom = std::move(check);
  return c;
}

const FieldDef* RecordDef::find(std::string_view n) const {
  for (const auto& f : fields) {
    if (f.name == n) return &f;
  }
  return nullptr;
}

const RecordDef& EntityDef::effective_record(const Subschema* sub) const {
  if (!sub) return record;
  std::lock_guard lock(effective_records->mutex);
  auto& slot = effective_records->records[sub];
  if (!slot) {
    auto out = std::make_unique<RecordDef>(record);
    for (const auto& replacement : sub->fields) {
      for (auto& f : out->fields) {
        if (f.name == replacement.name) f = replacement;
      }
    }
    out->checks.insert(out->checks.end(), sub->checks.begin(), sub->checks.end());
    slot = std::move(out);
  }
  return *slot;
}

namespace fields {

FieldDef string(std::string name) { return FieldDef{.name = std::move(name), .type = FieldType::string}; }
FieldDef integer(std::string name) { return FieldDef{.name = std::move(name), .type = FieldType::integer}; }
FieldDef number(std::string name) { return FieldDef{.name = std::move(name), .type = FieldType::number}; }
FieldDef boolean(std::string name) { return FieldDef{.name = std::move(name), .type = FieldType::boolean}; }

FieldDef array(std::string name, FieldDef elements) {
  return FieldDef{.name = std::move(name),
                  .type = FieldType::array,
                  .elements = std::make_shared<const FieldDef>(std::move(elements))};
}

FieldDef set(std::string name, FieldDef elements) {
  return FieldDef{.name = std::move(name),
                  .type = FieldType::set,
                  .elements = std::make_shared<const FieldDef>(std::move(elements))};
}

FieldDef map(std::string name, FieldDef keys, FieldDef values) {
  return FieldDef{.name = std::move(name),
                  .type = FieldType::map,
                  .keys = std::make_shared<const FieldDef>(std::move(keys)),
                  .values = std::make_shared<const FieldDef>(std::move(values))};
}

FieldDef record(std::string name, RecordDef r) {
  // Records are required unless said otherwise, as in Kong's entities (kong/db/schema/entity.lua):
  // a record left out is filled with its own defaults, so reads show its whole structure.
  return FieldDef{.name = std::move(name),
                  .type = FieldType::record,
                  .required = true,
                  .record = std::make_shared<const RecordDef>(std::move(r))};
}

FieldDef foreign(std::string name, std::string entity, std::string endpoint_key) {
  return FieldDef{.name = std::move(name),
                  .type = FieldType::foreign,
                  .reference = std::move(entity),
                  .reference_key = std::move(endpoint_key)};
}

FieldDef json(std::string name) { return FieldDef{.name = std::move(name), .type = FieldType::json}; }

}  // namespace fields

}  // namespace ok::schema
