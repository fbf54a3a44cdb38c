#include "schema/entity_validator.hpp"

#include "schema/validator.hpp"
#include "util/ids.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <set>

namespace ok::schema {
namespace {

namespace bj = boost::json;
using errors::InvalidParameter;
using errors::InvalidParameters;
using errors::Rule;

using detail::add;

std::string_view type_article(FieldType type) {
  switch (type) {
    case FieldType::integer:
      return "an integer";
    case FieldType::number:
      return "a number";
    case FieldType::boolean:
      return "a boolean";
    case FieldType::array:
    case FieldType::set:
      return "an array";
    case FieldType::map:
    case FieldType::record:
    case FieldType::foreign:
      return "an object";
    case FieldType::json:
      return "a JSON value";
    case FieldType::string:
      break;
  }
  return "a string";
}

Rule type_rule(FieldType type) {
  switch (type) {
    case FieldType::integer:
      return Rule::is_integer;
    case FieldType::number:
      return Rule::is_number;
    case FieldType::boolean:
      return Rule::is_boolean;
    case FieldType::array:
    case FieldType::set:
      return Rule::is_array;
    case FieldType::map:
    case FieldType::record:
    case FieldType::foreign:
      return Rule::is_object;
    default:
      return Rule::is_string;
  }
}

// 32 URL-safe characters from 24 random bytes, as Kong generates credential keys.
std::string random_key() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  return util::base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

using detail::is_integral;

// A bound as the integer `minimum`/`maximum` the spec's problem shapes require, when it is one.
std::optional<std::int64_t> whole(double d) {
  if (d == std::floor(d) && std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  return std::nullopt;
}

std::string number_text(double d) {
  if (auto w = whole(d)) return std::to_string(*w);
  return fmt::format("{}", d);
}

std::string values_text(const std::vector<bj::value>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += v.is_string() ? std::string(v.get_string()) : bj::serialize(v);
  }
  return out;
}

std::string quoted_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += "'" + n + "'";
  }
  return out;
}

bool contains_value(const std::vector<bj::value>& values, const bj::value& v) {
  return std::any_of(values.begin(), values.end(), [&](const bj::value& c) {
    if (c.is_number() && v.is_number()) return c.to_number<double>() == v.to_number<double>();
    return c == v;
  });
}

struct Context {
  InvalidParameters& out;
  std::vector<UnresolvedReference>* unresolved;
};

bj::value check_value(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx);

void check_length(std::int64_t n, const FieldDef& field, const std::string& path, bool characters, Context& ctx) {
  const auto min = field.len_min.value_or(characters ? 1 : 0);
  if (n < min) {
    if (characters) {
      add(ctx.out, path, Rule::min_length,
          n == 0 ? std::string("cannot be blank") : fmt::format("must have at least {} characters", min), min);
    } else {
      add(ctx.out, path, Rule::min_items, fmt::format("must have at least {} items", min), min);
    }
  } else if (field.len_max && n > *field.len_max) {
    if (characters) {
      add(ctx.out, path, Rule::max_length, fmt::format("must have at most {} characters", *field.len_max),
          field.len_max);
    } else {
      add(ctx.out, path, Rule::max_items, fmt::format("must have at most {} items", *field.len_max), field.len_max);
    }
  }
}

bool check_one_of(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx) {
  if (field.one_of.empty() || contains_value(field.one_of, value)) return true;
  InvalidParameter p{
      .field = path, .rule = Rule::enum_, .reason = fmt::format("must be one of [{}]", values_text(field.one_of))};
  for (const auto& c : field.one_of) p.choices.push_back(c);
  ctx.out.push_back(std::move(p));
  return false;
}

void run_checks(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx) {
  for (const auto& check : field.checks) {
    if (auto problem = check(value)) {
      add(ctx.out, path, problem->rule, std::move(problem->reason));
      return;  // one reason per value is enough
    }
  }
}

bj::value check_number(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx) {
  const bool integer = field.type == FieldType::integer;
  if (integer ? !is_integral(value) : !value.is_number()) {
    add(ctx.out, path, type_rule(field.type), fmt::format("must be {}", type_article(field.type)));
    return value;
  }
  bj::value normalized = value;
  if (integer && !value.is_int64()) normalized = static_cast<std::int64_t>(value.to_number<double>());
  const double d = value.to_number<double>();
  if (field.minimum && (field.exclusive_minimum ? d <= *field.minimum : d < *field.minimum)) {
    const auto reason = field.exclusive_minimum ? fmt::format("must be greater than {}", number_text(*field.minimum))
                        : field.maximum         ? fmt::format("must be between {} and {}", number_text(*field.minimum),
                                                              number_text(*field.maximum))
                                                : fmt::format("must be at least {}", number_text(*field.minimum));
    if (auto bound = whole(*field.minimum)) {
      add(ctx.out, path, Rule::min, reason, *bound);
    } else {
      add(ctx.out, path, Rule::invalid, reason);
    }
    return normalized;
  }
  if (field.maximum && d > *field.maximum) {
    const auto reason =
        field.minimum && !field.exclusive_minimum
            ? fmt::format("must be between {} and {}", number_text(*field.minimum), number_text(*field.maximum))
            : fmt::format("must be at most {}", number_text(*field.maximum));
    if (auto bound = whole(*field.maximum)) {
      add(ctx.out, path, Rule::max, reason, *bound);
    } else {
      add(ctx.out, path, Rule::invalid, reason);
    }
    return normalized;
  }
  if (check_one_of(normalized, field, path, ctx)) run_checks(normalized, field, path, ctx);
  return normalized;
}

bj::value check_collection(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx) {
  if (!value.is_array()) {
    add(ctx.out, path, Rule::is_array, "must be an array");
    return value;
  }
  const auto& items = value.get_array();
  bj::array out;
  std::set<std::string> seen;
  const auto before = ctx.out.size();
  for (std::size_t i = 0; i < items.size(); ++i) {
    const auto item_path = fmt::format("{}[{}]", path, i);
    if (items[i].is_null()) {
      add(ctx.out, item_path, type_rule(field.elements->type),
          fmt::format("must be {}, not null", type_article(field.elements->type)));
      continue;
    }
    auto item = check_value(items[i], *field.elements, item_path, ctx);
    // A set keeps the first of equal elements, in order (Kong's behaviour: no error).
    if (field.type == FieldType::set && !seen.insert(canonical_json(item)).second) continue;
    out.push_back(std::move(item));
  }
  if (ctx.out.size() == before) {
    check_length(static_cast<std::int64_t>(out.size()), field, path, false, ctx);
    if (ctx.out.size() == before) run_checks(out, field, path, ctx);
  }
  return out;
}

bj::value check_map(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx) {
  if (!value.is_object()) {
    add(ctx.out, path, Rule::is_object, "must be an object");
    return value;
  }
  bj::object out;
  const auto before = ctx.out.size();
  for (const auto& [k, v] : value.get_object()) {
    const auto entry_path = field_path(path, k);
    if (field.keys) check_value(bj::value(k), *field.keys, entry_path, ctx);
    if (v.is_null() || !field.values) {
      if (field.values) add(ctx.out, entry_path, type_rule(field.values->type), "must not be null");
      out[k] = v;
      continue;
    }
    out[k] = check_value(v, *field.values, entry_path, ctx);
  }
  if (ctx.out.size() == before) {
    check_length(static_cast<std::int64_t>(out.size()), field, path, false, ctx);
    if (ctx.out.size() == before) run_checks(out, field, path, ctx);
  }
  return out;
}

bj::value check_foreign(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx) {
  if (!value.is_object()) {
    add(ctx.out, path, Rule::is_object, R"(must be an object such as {"id": "<uuid>"})");
    return value;
  }
  const auto& obj = value.get_object();
  for (const auto& [k, v] : obj) {
    if (k != "id" && k != field.reference_key) {
      add(ctx.out, field_path(path, k), Rule::unknown_property,
          fmt::format("property {} should not exist", std::string_view(k)));
    }
  }
  if (const auto* id = obj.if_contains("id")) {
    if (!id->is_string() || !is_uuid(id->get_string())) {
      add(ctx.out, field_path(path, "id"), Rule::is_uuid, "must be a valid UUID");
      return value;
    }
    std::string lower(id->get_string());
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    return bj::object{{"id", lower}};
  }
  if (!field.reference_key.empty()) {
    if (const auto* key = obj.if_contains(field.reference_key)) {
      if (!key->is_string() || key->get_string().empty()) {
        add(ctx.out, field_path(path, field.reference_key), Rule::is_string, "must be a non-empty string");
        return value;
      }
      if (ctx.unresolved) {
        // The entity's own field that holds the reference: the path up to its first '.' or '['.
        const std::string top(std::string_view(path).substr(0, path.find_first_of(".[")));
        ctx.unresolved->push_back({path, top, field.reference, field.reference_key, std::string(key->get_string())});
      }
      return bj::object{{field.reference_key, *key}};
    }
  }
  add(ctx.out, field_path(path, "id"), Rule::required,
      field.reference_key.empty() ? std::string("is required")
                                  : fmt::format("is required (or the referenced entity's {})", field.reference_key));
  return value;
}

bj::value check_value(const bj::value& value, const FieldDef& field, const std::string& path, Context& ctx) {
  switch (field.type) {
    case FieldType::string: {
      if (!value.is_string()) {
        add(ctx.out, path, Rule::is_string, "must be a string");
        return value;
      }
      const std::string_view s = value.get_string();
      // Bodies are parsed as UTF-8 already; a value taken from a path (a PUT by name) is not.
      if (!is_utf8(s)) {
        add(ctx.out, path, Rule::invalid, "must be valid UTF-8");
        return value;
      }
      if (field.referenceable && is_vault_reference(s)) return value;
      const auto before = ctx.out.size();
      check_length(static_cast<std::int64_t>(utf8_length(s)), field, path, true, ctx);
      if (ctx.out.size() == before && check_one_of(value, field, path, ctx)) run_checks(value, field, path, ctx);
      return value;
    }
    case FieldType::integer:
    case FieldType::number:
      return check_number(value, field, path, ctx);
    case FieldType::boolean:
      if (!value.is_bool()) add(ctx.out, path, Rule::is_boolean, "must be a boolean");
      return value;
    case FieldType::array:
    case FieldType::set:
      return check_collection(value, field, path, ctx);
    case FieldType::map:
      return check_map(value, field, path, ctx);
    case FieldType::record:
      if (!value.is_object()) {
        add(ctx.out, path, Rule::is_object, "must be an object");
        return value;
      }
      return process_record(value.get_object(), *field.record, path, ctx.out, ctx.unresolved);
    case FieldType::foreign:
      return check_foreign(value, field, path, ctx);
    case FieldType::json:
      run_checks(value, field, path, ctx);
      return value;
  }
  return value;
}

bj::value missing_value(const FieldDef& field, const std::string& path, Context& ctx) {
  switch (field.auto_value) {
    case AutoValue::uuid:
      return bj::value(util::new_uuid());
    case AutoValue::random_key:
      return bj::value(random_key());
    default:
      break;
  }
  if (field.default_value) return *field.default_value;
  if (field.type == FieldType::record && field.required) {
    return process_record(bj::object{}, *field.record, path, ctx.out, ctx.unresolved);
  }
  return nullptr;
}

bool has_problem_under(const InvalidParameters& out, std::size_t from, const std::string& path) {
  for (std::size_t i = from; i < out.size(); ++i) {
    const auto& f = out[i].field;
    if (f == path || (f.starts_with(path) && (f[path.size()] == '.' || f[path.size()] == '['))) return true;
  }
  return false;
}

std::string value_text(const bj::value& v) { return v.is_string() ? std::string(v.get_string()) : bj::serialize(v); }

// A member of the record by name, or of a record inside it by dotted path ("redis.host").
const bj::value* lookup(const bj::object& record, std::string_view path) {
  const auto dot = path.find('.');
  const auto* v = record.if_contains(path.substr(0, dot));
  if (dot == std::string_view::npos || !v) return v;
  if (!v->is_object()) return nullptr;
  return lookup(v->get_object(), path.substr(dot + 1));
}

void run_entity_check(const EntityCheck& check, const bj::object& record, std::string_view prefix,
                      InvalidParameters& out) {
  auto get = [&](const std::string& name) { return lookup(record, name); };
  auto dependent = [&](std::string reason) {
    InvalidParameter p{
        .field = field_path(prefix, check.fields.front()), .rule = Rule::dependent_fields, .reason = std::move(reason)};
    for (const auto& f : check.fields) p.dependents.push_back(field_path(prefix, f));
    out.push_back(std::move(p));
  };
  std::size_t set_count = 0;
  for (const auto& f : check.fields) set_count += is_set(get(f)) ? 1 : 0;
  switch (check.kind) {
    case EntityCheck::Kind::at_least_one_of:
      if (set_count == 0) {
        dependent(fmt::format("at least one of these fields must be non-empty: {}", quoted_list(check.fields)));
      }
      return;
    case EntityCheck::Kind::only_one_of:
      if (set_count != 1) {
        dependent(fmt::format("exactly one of these fields must be non-empty: {}", quoted_list(check.fields)));
      }
      return;
    case EntityCheck::Kind::mutually_required:
      if (set_count != 0 && set_count != check.fields.size()) {
        dependent(fmt::format("all or none of these fields must be set: {}", quoted_list(check.fields)));
      }
      return;
    case EntityCheck::Kind::mutually_exclusive:
      if (set_count > 1) {
        dependent(fmt::format("only one or none of these fields must be set: {}", quoted_list(check.fields)));
      }
      return;
    case EntityCheck::Kind::distinct: {
      std::set<std::string> seen;
      for (const auto& f : check.fields) {
        const auto* v = get(f);
        if (!is_set(v)) continue;
        if (!seen.insert(canonical_json(*v)).second) {
          add(out, field_path(prefix, f), Rule::invalid,
              fmt::format("values of these fields must be distinct: {}", quoted_list(check.fields)));
          return;
        }
      }
      return;
    }
    case EntityCheck::Kind::conditional: {
      const auto* condition = get(check.if_field);
      if (!condition || condition->is_null() || !contains_value(check.if_values, *condition)) return;
      const auto* then = get(check.then_field);
      const auto path = field_path(prefix, check.then_field);
      const auto when = fmt::format("when '{}' is '{}'", check.if_field, value_text(*condition));
      switch (check.then) {
        case EntityCheck::Then::null:
          if (then && !then->is_null()) add(out, path, Rule::is_null, fmt::format("must not be set {}", when));
          return;
        case EntityCheck::Then::set:
          if (!is_set(then)) add(out, path, Rule::required, fmt::format("is required {}", when));
          return;
        case EntityCheck::Then::one_of:
          if (!then || !contains_value(check.then_values, *then)) {
            InvalidParameter p{.field = path,
                               .rule = Rule::enum_,
                               .reason = fmt::format("must be one of [{}] {}", values_text(check.then_values), when)};
            for (const auto& c : check.then_values) p.choices.push_back(c);
            out.push_back(std::move(p));
          }
          return;
      }
      return;
    }
    case EntityCheck::Kind::custom:
      if (check.custom) check.custom(record, prefix, out);
      return;
  }
}

}  // namespace

bool is_vault_reference(std::string_view s) { return s.starts_with("{vault://") && s.ends_with("}"); }

bool is_vault_reference(const bj::value* v) { return v && v->is_string() && is_vault_reference(v->get_string()); }

std::string field_path(std::string_view prefix, std::string_view name) {
  const std::string key = name.empty() ? std::string(R"([""])") : std::string(name);
  if (prefix.empty()) return key;
  return name.empty() ? fmt::format("{}{}", prefix, key) : fmt::format("{}.{}", prefix, key);
}

bool is_set(const bj::value* v) {
  if (!v || v->is_null()) return false;
  if (v->is_string()) return !v->get_string().empty();
  if (v->is_array()) return !v->get_array().empty();
  if (v->is_object()) return !v->get_object().empty();
  return true;
}

bj::object process_record(const bj::object& input, const RecordDef& record, std::string_view prefix,
                          InvalidParameters& out, std::vector<UnresolvedReference>* unresolved) {
  const auto first_problem = out.size();
  bj::object working = input;
  for (const auto& shorthand : record.shorthands) {
    auto it = working.find(shorthand.field.name);
    if (it == working.end()) continue;
    const auto path = field_path(prefix, shorthand.field.name);
    bj::value value = it->value();
    working.erase(it);
    if (value.is_null()) continue;
    Context ctx{out, unresolved};
    const auto before = out.size();
    check_value(value, shorthand.field, path, ctx);
    if (out.size() != before) continue;
    if (auto problem = shorthand.expand(value, working)) add(out, path, problem->rule, std::move(problem->reason));
  }
  for (const auto& [key, value] : working) {
    if (!record.find(key)) {
      add(out, field_path(prefix, key), Rule::unknown_property,
          fmt::format("property {} should not exist", std::string_view(key)));
    }
  }
  bj::object result;
  result.reserve(record.fields.size());
  for (const auto& field : record.fields) {
    const auto path = field_path(prefix, field.name);
    Context ctx{out, unresolved};
    const auto* given = working.if_contains(field.name);
    // A generated value (an id, a credential key) sent as null is generated, as when left out.
    const bool generated = field.auto_value == AutoValue::uuid || field.auto_value == AutoValue::random_key;
    if (given && given->is_null() && generated) given = nullptr;
    bj::value value;
    if (!given) {
      value = missing_value(field, path, ctx);
      if (value.is_null() && field.required && field.auto_value == AutoValue::none) {
        add(out, path, Rule::required, "is required");
      }
    } else if (given->is_null()) {
      if (field.required) add(out, path, Rule::required, "is required");
    } else {
      value = check_value(*given, field, path, ctx);
    }
    if (field.must_be_null && !value.is_null()) {
      add(out, path, Rule::is_null, field.null_reason.empty() ? std::string("must be null") : field.null_reason);
    }
    result.emplace(field.name, std::move(value));
  }
  for (const auto& check : record.checks) {
    bool readable = true;
    for (const auto& name : check.reads)
      readable = readable && !has_problem_under(out, first_problem, field_path(prefix, name));
    if (readable) run_entity_check(check, result, prefix, out);
  }
  return result;
}

Processed process_entity(const bj::value& body, const EntityDef& def) {
  Processed p;
  if (!body.is_object()) {
    add(p.problems, "body", Rule::is_object, "the request body must be a JSON object");
    return p;
  }
  const auto& input = body.get_object();
  if (!def.subschema_key.empty()) {
    const auto* key = input.if_contains(def.subschema_key);
    if (!key || key->is_null()) {
      add(p.problems, def.subschema_key, Rule::required, "is required");
      return p;
    }
    if (!key->is_string()) {
      add(p.problems, def.subschema_key, Rule::is_string, "must be a string");
      return p;
    }
    p.subschema = def.subschema(key->get_string());
    if (!p.subschema) {
      InvalidParameter problem{
          .field = def.subschema_key,
          .rule = Rule::enum_,
          .reason = fmt::format("{} [{}] is not available", def.display, std::string_view(key->get_string()))};
      for (const auto& name : def.subschema_names()) problem.choices.emplace_back(name);
      p.problems.push_back(std::move(problem));
      return p;
    }
  }
  p.entity = process_record(input, def.effective_record(p.subschema), "", p.problems, &p.unresolved);
  return p;
}

bj::object render_record(const bj::object& value, const RecordDef& record, bool keep_nulls) {
  keep_nulls = keep_nulls || record.keep_nulls;
  bj::object out;
  out.reserve(value.size());
  for (const auto& [key, member] : value) {
    if (member.is_null() && !keep_nulls) continue;
    const auto* field = record.find(key);
    if (field && field->type == FieldType::record && member.is_object()) {
      out.emplace(key, render_record(member.get_object(), *field->record, keep_nulls));
    } else if (field && (field->type == FieldType::array || field->type == FieldType::set) && member.is_array() &&
               field->elements && field->elements->type == FieldType::record) {
      bj::array items;
      for (const auto& item : member.get_array()) {
        items.push_back(item.is_object()
                            ? bj::value(render_record(item.get_object(), *field->elements->record, keep_nulls))
                            : item);
      }
      out.emplace(key, std::move(items));
    } else {
      out.emplace(key, member);
    }
  }
  return out;
}

}  // namespace ok::schema
