#include "errors/problem.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

namespace ok::errors {
namespace {

boost::json::object render_parameter(const InvalidParameter& p) {
  boost::json::object item;
  item["field"] = p.field;
  item["rule"] = rule_name(p.rule);
  item["reason"] = p.reason;
  item["source"] = source_name(p.source);
  switch (p.rule) {
    case Rule::min_length:
    case Rule::min_items:
    case Rule::min:
      item["minimum"] = p.limit.value_or(0);
      break;
    case Rule::max_length:
    case Rule::max_items:
    case Rule::max:
      item["maximum"] = p.limit.value_or(0);
      break;
    case Rule::enum_:
      item["choices"] = p.choices;
      break;
    case Rule::dependent_fields: {
      boost::json::array dependents;
      for (const auto& d : p.dependents) dependents.emplace_back(d);
      item["dependents"] = std::move(dependents);
      break;
    }
    default:
      break;
  }
  return item;
}

}  // namespace

std::string render_problem(const ApiError& error, std::uint64_t trace_id) {
  const auto code = static_cast<unsigned>(error.status());
  boost::json::object body;
  body["status"] = code;
  body["title"] = status_title(error.status());
  body["type"] = fmt::format("https://httpstatuses.com/{}", code);
  body["instance"] = fmt::format("kong:trace:{}", trace_id);
  body["detail"] = error.detail();
  if (error.status() == Status::bad_request) {
    boost::json::array params;
    params.reserve(error.invalid_parameters().size());
    for (const auto& p : error.invalid_parameters()) params.emplace_back(render_parameter(p));
    body["invalid_parameters"] = std::move(params);
  }
  return boost::json::serialize(body);
}

}  // namespace ok::errors
