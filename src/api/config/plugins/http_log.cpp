// http-log (Kong's kong/plugins/http-log/schema.lua).

#include "api/config/plugins/plugins.hpp"
#include "schema/entity_validator.hpp"
#include "schema/typedefs.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

namespace ok::api::config::plugins {
namespace {

using namespace schema::fields;
namespace typedefs = schema::typedefs;
namespace bj = boost::json;

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

// Headers the plugin sets itself. Kong's Content-Length pattern reads [Ee][nn]: its third letter
// of "Length" must be a lower-case 'n'; reproduced as is.
std::optional<schema::Problem> reserved_header_problem(const bj::value& v) {
  if (!v.is_string()) return std::nullopt;
  const std::string_view s = v.get_string();
  if (iequals(s, "host")) return schema::Problem{errors::Rule::invalid, "cannot contain 'Host' header"};
  if (iequals(s, "content-length") && s[10] == 'n') {
    return schema::Problem{errors::Rule::invalid, "cannot contain 'Content-Length' header"};
  }
  if (iequals(s, "content-type")) return schema::Problem{errors::Rule::invalid, "cannot contain 'Content-Type' header"};
  return std::nullopt;
}

// The user info of a URL as LuaSocket's url.parse finds it: after the scheme, in an authority
// introduced by "//" and ending at the first '/', before the first '@' (the fragment is cut first).
bool has_userinfo(std::string_view url) {
  url = url.substr(0, url.find('#'));
  if (const auto colon = url.find(':');
      colon != std::string_view::npos && colon > 0 && std::isalnum(static_cast<unsigned char>(url[0])) &&
      std::all_of(url.begin(), url.begin() + colon,
                  [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; })) {
    url.remove_prefix(colon + 1);
  }
  if (!url.starts_with("//")) return false;
  url.remove_prefix(2);
  return url.substr(0, url.find('/')).find('@') != std::string_view::npos;
}

// Credentials may come from the endpoint's user info or from an Authorization header, not both.
void userinfo_check(const bj::object& c, std::string_view prefix, errors::InvalidParameters& out) {
  const auto* endpoint = c.if_contains("http_endpoint");
  const auto* headers = c.if_contains("headers");
  if (!endpoint || !endpoint->is_string() || !has_userinfo(endpoint->get_string())) return;
  if (!headers || !headers->is_object()) return;
  for (const auto& [name, value] : headers->get_object()) {
    if (iequals(name, "authorization")) {
      out.push_back({.field = std::string(prefix),
                     .rule = errors::Rule::invalid,
                     .reason = "an 'Authorization' header cannot be given along with user info in 'http_endpoint'"});
      return;
    }
  }
}

}  // namespace

schema::Subschema http_log() {
  return plugin("http-log",
                {.fields = {typedefs::url("http_endpoint").req().vault_referenceable(),
                            string("method").def("POST").one_of_values({"POST", "PUT", "PATCH"}),
                            string("content_type")
                                .def("application/json")
                                .one_of_values({"application/json", "application/json; charset=utf-8"}),
                            number("timeout").def(10000), number("keepalive").def(60000), integer("retry_count"),
                            integer("queue_size"), number("flush_timeout"),
                            map("headers", typedefs::header_name("name").check(reserved_header_problem),
                                string("value").vault_referenceable()),
                            typedefs::queue(), typedefs::lua_code("custom_fields_by_lua")},
                 .checks = {schema::custom_check({"http_endpoint", "headers"}, userinfo_check)}},
                {.protocols = typedefs::protocols()});
}

}  // namespace ok::api::config::plugins
