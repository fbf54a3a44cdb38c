#include "errors/problem.hpp"

#include <fmt/format.h>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace ok::errors {
namespace {

// Problem texts can echo what a client sent (a query key, a body key). JSON must be valid
// UTF-8, so any byte that does not begin a valid sequence becomes U+FFFD.
std::string utf8_safe(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size() && !(len == 2 && b < 0xC2);
    for (std::size_t k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok && len >= 3) {
      // Reject overlong forms, surrogates and code points beyond U+10FFFF.
      const auto b1 = static_cast<unsigned char>(text[i + 1]);
      if ((len == 3 && b == 0xE0 && b1 < 0xA0) || (len == 3 && b == 0xED && b1 >= 0xA0) ||
          (len == 4 && b == 0xF0 && b1 < 0x90) || (len == 4 && (b > 0xF4 || (b == 0xF4 && b1 >= 0x90)))) {
        ok = false;
      }
    }
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

boost::json::object render_parameter(const InvalidParameter& p) {
  boost::json::object item;
  item["field"] = utf8_safe(p.field);
  item["rule"] = rule_name(p.rule);
  item["reason"] = utf8_safe(p.reason);
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
  body["detail"] = utf8_safe(error.detail());
  // Kong's own clients (decK, go-kong, the UI's lists) read `message`, not `detail`.
  body["message"] = body["detail"];
  if (error.status() == Status::bad_request) {
    boost::json::array params;
    params.reserve(error.invalid_parameters().size());
    for (const auto& p : error.invalid_parameters()) params.emplace_back(render_parameter(p));
    body["invalid_parameters"] = std::move(params);
  }
  return boost::json::serialize(body);
}

}  // namespace ok::errors
