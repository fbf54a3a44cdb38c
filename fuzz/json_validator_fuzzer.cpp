// libFuzzer target: request-body parsing (json::parse_body) and schema validation
// (schema::validate).
//
// Input: a request body. It is parsed with the server's default depth limit and with a small
// one, then validated against the control plane's create and update schemas (in both modes)
// and against two fuzz-only schemas that use every field kind and limit the validator
// supports. (The identity schemas are file-local to their handlers; request_fuzzer reaches
// them through the API.) A body valid for a control-plane schema is then applied to a record
// and rendered, as the handlers do.
//
// Invariants (abort on violation): parse_body returns or throws errors::ApiError 400 with
// at least one invalid parameter; validate never throws; every reported problem has a
// non-empty field and reason, min/max rules carry their limit and `enum` its choices; the
// problems render as a JSON problem body; a valid body applies without throwing.

#include "api/control_planes/control_plane.hpp"
#include "errors/api_error.hpp"
#include "errors/problem.hpp"
#include "json/parse.hpp"
#include "schema/validator.hpp"

#include <boost/json/parse.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

using namespace ok;
using schema::Field;
using schema::Kind;

[[noreturn]] void violation(std::string_view what, std::string_view detail = {}) {
  std::fprintf(stderr, "INVARIANT VIOLATED: %.*s\n  %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

const schema::ObjectSchema& nested_schema() {
  static const schema::ObjectSchema s{{
      Field{.name = "host", .kind = Kind::string, .required = true, .min_length = 1, .max_length = 8},
      Field{.name = "port", .kind = Kind::integer, .required = true, .minimum = 1, .maximum = 65535},
  }};
  return s;
}

// Every kind and limit the validator supports, closed to unknown properties.
const schema::ObjectSchema& every_kind_schema() {
  static const schema::ObjectSchema s{{
      Field{.name = "s", .kind = Kind::string, .required = true, .nullable = true, .min_length = 2, .max_length = 5},
      Field{.name = "i", .kind = Kind::integer, .minimum = -5, .maximum = 5},
      Field{.name = "n", .kind = Kind::number, .minimum = 0, .maximum = 10},
      Field{.name = "b", .kind = Kind::boolean},
      Field{.name = "u", .kind = Kind::uuid},
      Field{.name = "d", .kind = Kind::date_time, .nullable = true},
      Field{.name = "e", .kind = Kind::enumeration, .choices = {"a", "b"}},
      Field{.name = "l", .kind = Kind::labels, .nullable = true, .min_items = 1, .max_items = 3},
      Field{.name = "o", .kind = Kind::object, .object = &nested_schema()},
      Field{.name = "as", .kind = Kind::array, .min_items = 1, .max_items = 3, .unique_items = true, .items = Kind::string},
      Field{.name = "ai", .kind = Kind::array, .items = Kind::integer},
      Field{.name = "ao", .kind = Kind::array, .max_items = 2, .unique_items = true, .object = &nested_schema(),
            .items = Kind::object},
      Field{.name = "x", .kind = Kind::any},
      Field{.name = "c", .kind = Kind::string, .check = [](std::string_view v) {
              return v.find(' ') == std::string_view::npos ? std::string() : std::string("must not contain spaces");
            }},
      Field{.name = "ro", .read_only = true},
  }};
  return s;
}

// The same fields, open to unknown properties (as the identity schemas are).
const schema::ObjectSchema& open_schema() {
  static const schema::ObjectSchema s{every_kind_schema().fields, true};
  return s;
}

bool is_limit_rule(errors::Rule rule) {
  using R = errors::Rule;
  return rule == R::min_length || rule == R::max_length || rule == R::min_items || rule == R::max_items || rule == R::min ||
         rule == R::max;
}

void check_problems(const errors::InvalidParameters& problems, std::string_view context) {
  for (const auto& p : problems) {
    if (p.field.empty()) violation("a problem without a field", context);
    if (p.reason.empty()) violation("a problem without a reason", p.field);
    if (is_limit_rule(p.rule) && !p.limit) violation("a min/max problem without its limit", p.field);
    if (p.rule == errors::Rule::enum_ && p.choices.empty()) violation("an enum problem without choices", p.field);
  }
  if (problems.empty()) return;
  const auto error = errors::ApiError::bad_request(problems, "Invalid request body.");
  boost::system::error_code ec;
  const auto rendered = boost::json::parse(errors::render_problem(error, 1), ec);
  if (ec || !rendered.is_object()) violation("the problem body is not a JSON object", context);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  boost::json::value body;
  try {
    (void)json::parse_body(text, 4);  // the depth limit's own path
  } catch (const errors::ApiError& e) {
    if (e.status() != errors::Status::bad_request || e.invalid_parameters().empty()) {
      violation("parse_body (depth 4) threw a non-400 ApiError or one without parameters", e.detail());
    }
  }
  try {
    body = json::parse_body(text);
  } catch (const errors::ApiError& e) {
    if (e.status() != errors::Status::bad_request || e.invalid_parameters().empty()) {
      violation("parse_body threw a non-400 ApiError or one without parameters", e.detail());
    }
    check_problems(e.invalid_parameters(), "parse_body");
    return 0;
  }

  struct Case {
    const schema::ObjectSchema* schema;
    schema::Mode mode;
    const char* name;
  };
  const Case cases[] = {
      {&api::control_planes::request_schema(), schema::Mode::create, "control plane create"},
      {&api::control_planes::request_schema(), schema::Mode::update, "control plane update"},
      {&every_kind_schema(), schema::Mode::create, "every kind, create"},
      {&every_kind_schema(), schema::Mode::update, "every kind, update"},
      {&open_schema(), schema::Mode::create, "open, create"},
  };
  for (const auto& c : cases) {
    errors::InvalidParameters problems;
    try {
      problems = schema::validate(body, *c.schema, c.mode);
    } catch (const std::exception& e) {
      violation("validate threw", std::string(c.name) + ": " + e.what());
    }
    check_problems(problems, c.name);
    if (!problems.empty() || c.schema == &every_kind_schema() || c.schema == &open_schema()) continue;
    if (!body.is_object()) violation("validate accepted a body that is not an object", c.name);
    // What the handlers do next with a valid body.
    try {
      store::ControlPlane cp;
      api::control_planes::apply(cp, body.as_object());
      (void)api::control_planes::to_json(cp, api::Settings{});
    } catch (const std::exception& e) {
      violation("a valid control-plane body failed to apply", std::string(c.name) + ": " + e.what());
    }
  }
  return 0;
}
