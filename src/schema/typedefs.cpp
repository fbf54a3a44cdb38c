#include "schema/typedefs.hpp"

#include "crypto/pem.hpp"
#include "schema/validator.hpp"
#include "util/hosts.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <algorithm>
#include <cctype>

namespace ok::schema::typedefs {
namespace {

namespace bj = boost::json;
using errors::Rule;
using namespace schema::fields;

std::optional<Problem> regex_problem(std::string reason) { return Problem{Rule::matches_regex, std::move(reason)}; }

// Wraps a check of a string value.
ValueCheck on_string(std::function<std::optional<Problem>(std::string_view)> check) {
  return [check = std::move(check)](const bj::value& v) -> std::optional<Problem> {
    if (!v.is_string()) return std::nullopt;
    return check(v.get_string());
  };
}

std::optional<Problem> name_problem(std::string_view s) {
  const bool ok = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~';
  });
  if (ok) return std::nullopt;
  return regex_problem(
      fmt::format("invalid value '{}': it must only contain alphanumeric and '., -, _, ~' characters", s));
}

std::optional<Problem> utf8_name_problem(std::string_view s) {
  if (!is_utf8(s)) return Problem{Rule::invalid, "invalid utf-8 character sequence"};
  const bool ok = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c >= 0x80 || std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~';
  });
  if (ok) return std::nullopt;
  return regex_problem(
      fmt::format("invalid value '{}': the only accepted ascii characters are alphanumerics or ., -, _, and ~", s));
}

std::optional<Problem> name_host_problem(std::string_view s, bool allow_wildcard) {
  std::string host(s);
  if (allow_wildcard) {
    const auto stars = std::count(host.begin(), host.end(), '*');
    if (stars > 1) return Problem{Rule::invalid, "only one wildcard must be specified"};
    if (stars == 1) {
      const auto at = host.find('*');
      if (at != 0 && at + 1 != host.size())
        return Problem{Rule::invalid, "wildcard must be leftmost or rightmost character"};
      host.replace(at, 1, "wildcard");
    }
  }
  const auto parsed = util::parse_address(host);
  if (!parsed.address) {
    if (parsed.error == "invalid port number") return Problem{Rule::invalid, "must not have a port"};
    return Problem{Rule::invalid, fmt::format("invalid value: {}", s)};
  }
  if (parsed.address->type != util::HostType::name) return Problem{Rule::invalid, "must not be an IP"};
  if (parsed.address->port) return Problem{Rule::invalid, "must not have a port"};
  return std::nullopt;
}

bool is_unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~'; }
bool is_reserved(unsigned char c) {
  return std::string_view("!*'();:@&=+$,/?%#[]").find(static_cast<char>(c)) != std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<Problem> header_name_problem(std::string_view s) {
  const bool ok = !s.empty() && std::all_of(s.begin(), s.end(),
                                            [](unsigned char c) { return std::isalnum(c) || c == '-' || c == '_'; });
  if (ok) return std::nullopt;
  return regex_problem(fmt::format("bad header name '{}', allowed characters are A-Z, a-z, 0-9, '_', and '-'", s));
}

// RFC 7230 token characters (cookie names).
std::optional<Problem> token_problem(std::string_view s) {
  const bool ok = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  });
  if (ok) return std::nullopt;
  return regex_problem(fmt::format("bad token '{}': only RFC 7230 token characters are allowed", s));
}

std::optional<Problem> url_problem(std::string_view s) {
  const auto scheme_end = s.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) return Problem{Rule::invalid, "missing scheme in url"};
  const auto scheme = s.substr(0, scheme_end);
  if (!std::all_of(scheme.begin(), scheme.end(),
                   [](unsigned char c) { return std::isalnum(c) || c == '+' || c == '-' || c == '.'; })) {
    return Problem{Rule::invalid, "could not parse url: invalid scheme"};
  }
  auto rest = s.substr(scheme_end + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  auto host = authority.substr(authority.find('@') == std::string_view::npos ? 0 : authority.find('@') + 1);
  if (host.empty()) return Problem{Rule::invalid, "missing host in url"};
  if (std::any_of(s.begin(), s.end(), [](unsigned char c) { return c <= 0x20 || c == 0x7f; })) {
    return Problem{Rule::invalid, "could not parse url: whitespace or control characters"};
  }
  return std::nullopt;
}

// Compiles a regex with PCRE to tell whether Kong (which uses PCRE) would accept it.
std::optional<std::string> pcre_error(std::string_view pattern, std::uint32_t options) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* re =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &code, &offset, nullptr);
  if (re) {
    pcre2_code_free(re);
    return std::nullopt;
  }
  PCRE2_UCHAR message[256];
  pcre2_get_error_message(code, message, sizeof message);
  return fmt::format("{} at offset {}", reinterpret_cast<const char*>(message), offset);
}

std::optional<Problem> certificate_problem(std::string_view pem) {
  std::string error;
  if (!crypto::inspect_certificate(pem, error)) return Problem{Rule::invalid, error};
  return std::nullopt;
}

std::optional<Problem> key_problem(std::string_view pem) {
  auto problem = crypto::private_key_problem(pem);
  if (problem.empty()) return std::nullopt;
  return Problem{Rule::invalid, problem};
}

std::vector<bj::value> as_values(const std::vector<std::string>& names) {
  std::vector<bj::value> out;
  for (const auto& n : names) out.emplace_back(n);
  return out;
}

bj::array as_array(const std::vector<std::string>& names) {
  bj::array out;
  for (const auto& n : names) out.emplace_back(n);
  return out;
}

FieldDef ip_port_record(std::string name) {
  return set(std::move(name), record("", RecordDef{.fields = {ip_or_cidr("ip"), port("port")},
                                                   .checks = {at_least_one_of({"ip", "port"})}})
                                  .req(false));
}

}  // namespace

std::optional<Problem> host_problem(std::string_view s) {
  const auto parsed = util::parse_address(s);
  if (!parsed.address) {
    if (parsed.error == "invalid port number") return Problem{Rule::invalid, "must not have a port"};
    return Problem{Rule::invalid, fmt::format("invalid value: {}", s)};
  }
  if (parsed.address->port) return Problem{Rule::invalid, "must not have a port"};
  return std::nullopt;
}

std::optional<Problem> path_problem(std::string_view s) {
  if (!s.starts_with("/")) return Problem{Rule::matches_regex, "should start with: /"};
  if (s.find("//") != std::string_view::npos) return Problem{Rule::invalid, "must not have empty segments"};
  for (unsigned char c : s) {
    if (!is_unreserved(c) && std::string_view("/%:@!$&'()*+,;=").find(static_cast<char>(c)) == std::string_view::npos) {
      return regex_problem(
          fmt::format("invalid path: '{}' (characters outside of the reserved list of RFC 3986 found)", s));
    }
  }
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || hex_value(s[i + 1]) < 0 || hex_value(s[i + 2]) < 0) {
      return Problem{Rule::invalid, fmt::format("invalid url-encoded value: '{}'", s.substr(i, 3))};
    }
  }
  return std::nullopt;
}

std::string normalize_path(std::string_view path) {
  if (path.empty() || path == "/") return std::string(path);
  // Decode percent-encoded characters that are not reserved; upper-case the rest.
  std::string decoded;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size() && hex_value(path[i + 1]) >= 0 && hex_value(path[i + 2]) >= 0) {
      const auto c = static_cast<unsigned char>(hex_value(path[i + 1]) * 16 + hex_value(path[i + 2]));
      if (is_reserved(c)) {
        decoded += '%';
        decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 1])));
        decoded += static_cast<char>(std::toupper(static_cast<unsigned char>(path[i + 2])));
      } else {
        decoded += static_cast<char>(c);
      }
      i += 2;
    } else {
      decoded += path[i];
    }
  }
  // Remove dot segments and merge slashes (RFC 3986 5.2.4, plus "//" -> "/").
  std::vector<std::string> output;
  std::string_view in = decoded;
  while (!in.empty()) {
    if (in == "/.") {
      in = "/";
    } else if (in == "/..") {
      in = "/";
      if (!output.empty()) output.pop_back();
    } else if (in == "." || in == "..") {
      in = {};
    } else if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      if (!output.empty()) output.pop_back();
    } else if (in.starts_with("//")) {
      in.remove_prefix(1);
    } else {
      const auto next = in.find('/', 1);
      output.emplace_back(in.substr(0, next));
      in = next == std::string_view::npos ? std::string_view() : in.substr(next);
    }
  }
  std::string out;
  for (const auto& segment : output) out += segment;
  return out;
}

std::optional<Problem> router_path_problem(std::string_view s) {
  if (!s.starts_with("/") && !s.starts_with("~/")) {
    return Problem{Rule::matches_regex, "should start with: / (fixed path) or ~/ (regex path)"};
  }
  if (s.find("//") != std::string_view::npos) return Problem{Rule::invalid, "must not have empty segments"};
  if (s.starts_with("/")) {
    if (auto problem = path_problem(s)) {
      // Only a bad percent-encoding fails a prefix path here; other characters are left to
      // the normalization check below, as Kong's router does.
      if (problem->reason.starts_with("invalid url-encoded")) return problem;
    }
    const auto normalized = normalize_path(s);
    if (normalized != s) {
      return Problem{Rule::invalid, fmt::format("non-normalized path, consider use '{}' instead", normalized)};
    }
    return std::nullopt;
  }
  // The router compiles paths anchored (ngx.re flags "aj").
  if (auto error = pcre_error(s.substr(1), PCRE2_ANCHORED | PCRE2_UTF)) {
    return Problem{Rule::invalid, fmt::format("invalid regex: '{}' (PCRE returned: {})", s.substr(1), *error)};
  }
  return std::nullopt;
}

std::optional<std::string> regex_error(std::string_view pattern) { return pcre_error(pattern, 0); }

std::optional<Problem> tag_problem(std::string_view s) {
  if (!is_utf8(s)) return Problem{Rule::invalid, "invalid utf-8 character sequence"};
  const bool ok = std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c == ' ' || (c >= 0x21 && c <= 0x7e && c != ',' && c != '/') || (c >= 0x80 && c <= 0xf4);
  });
  if (ok) return std::nullopt;
  return regex_problem(
      fmt::format("invalid tag '{}': expected printable ascii (except `,` and `/`) or valid utf-8 sequences", s));
}

FieldDef id() { return uuid("id").auto_generated(AutoValue::uuid); }

FieldDef uuid(std::string name) {
  return string(std::move(name)).check(on_string([](std::string_view s) -> std::optional<Problem> {
    if (is_uuid(s)) return std::nullopt;
    return Problem{Rule::is_uuid, "must be a valid UUID"};
  }));
}

FieldDef created_at() { return integer("created_at").auto_generated(AutoValue::timestamp_s); }
FieldDef updated_at() { return integer("updated_at").auto_generated(AutoValue::timestamp_s); }
FieldDef created_at_ms() { return number("created_at").auto_generated(AutoValue::timestamp_ms); }
FieldDef updated_at_ms() { return number("updated_at").auto_generated(AutoValue::timestamp_ms); }

FieldDef tags() { return set("tags", string("tag").check(on_string(tag_problem))); }

FieldDef name(std::string n) { return string(std::move(n)).unique_field().check(on_string(name_problem)); }
FieldDef utf8_name(std::string n) { return string(std::move(n)).unique_field().check(on_string(utf8_name_problem)); }

FieldDef host(std::string n) { return string(std::move(n)).check(on_string(host_problem)); }

FieldDef host_with_optional_port(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) -> std::optional<Problem> {
    const auto parsed = util::parse_address(s);
    if (parsed.address) return std::nullopt;
    return Problem{Rule::invalid, parsed.error};
  }));
}

FieldDef wildcard_host(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) { return name_host_problem(s, true); }));
}

FieldDef sni(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) { return name_host_problem(s, false); }));
}

FieldDef ip(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) -> std::optional<Problem> {
    if (util::is_ip(s)) return std::nullopt;
    return Problem{Rule::invalid, fmt::format("not an ip address: {}", s)};
  }));
}

FieldDef ip_or_cidr(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) -> std::optional<Problem> {
    if (util::is_ip_or_cidr(s)) return std::nullopt;
    return Problem{Rule::invalid, fmt::format("invalid ip or cidr range: '{}'", s)};
  }));
}

FieldDef cidr_v4(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) -> std::optional<Problem> {
    if (util::is_ipv4_or_cidr_v4(s)) return std::nullopt;
    return Problem{Rule::invalid, fmt::format("invalid ipv4 cidr range: '{}'", s)};
  }));
}

FieldDef port(std::string n) { return integer(std::move(n)).between(0, 65535); }
FieldDef timeout(std::string n) { return integer(std::move(n)).between(0, 2147483646); }
FieldDef path(std::string n) { return string(std::move(n)).check(on_string(path_problem)); }
FieldDef url(std::string n) { return string(std::move(n)).check(on_string(url_problem)); }
FieldDef header_name(std::string n) { return string(std::move(n)).check(on_string(header_name_problem)); }
FieldDef cookie_name(std::string n) { return string(std::move(n)).check(on_string(token_problem)); }

FieldDef http_method(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) -> std::optional<Problem> {
    if (std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c); })) return std::nullopt;
    return regex_problem(fmt::format("invalid value '{}': must contain only uppercase letters", s));
  }));
}

FieldDef semantic_version(std::string n) {
  return string(std::move(n)).check(on_string([](std::string_view s) -> std::optional<Problem> {
    if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front()))) {
      return regex_problem("invalid version number: must be in format of X.Y.Z");
    }
    if (s.find("..") != std::string_view::npos) return regex_problem("must not have empty version segments");
    return std::nullopt;
  }));
}

FieldDef certificate(std::string n) {
  return string(std::move(n)).vault_referenceable().check(on_string(certificate_problem));
}

FieldDef key(std::string n) { return string(std::move(n)).vault_referenceable().check(on_string(key_problem)); }

// Kong checks that each expression compiles in its sandbox; without a Lua interpreter here, any
// non-empty text is accepted.
FieldDef lua_code(std::string n) { return map(std::move(n), string("key"), string("value")); }

const std::vector<std::string>& all_protocols() {
  static const std::vector<std::string> p = {"grpc", "grpcs",           "http", "https", "tcp",
                                             "tls",  "tls_passthrough", "udp",  "ws",    "wss"};
  return p;
}

const std::vector<std::string>& http_protocols() {
  static const std::vector<std::string> p = {"grpc", "grpcs", "http", "https"};
  return p;
}

FieldDef protocol(std::string n) { return string(std::move(n)).one_of_values(as_values(all_protocols())); }

FieldDef protocols() { return set("protocols", protocol("protocol")).req().def(as_array(http_protocols())); }

FieldDef protocols_http() {
  return set("protocols", string("protocol").one_of_values(as_values(http_protocols())))
      .req()
      .def(as_array(http_protocols()));
}

FieldDef methods() { return set("methods", http_method("method")); }

FieldDef hosts() {
  return array("hosts", string("host").check(on_string([](std::string_view s) -> std::optional<Problem> {
    const auto stars = std::count(s.begin(), s.end(), '*');
    if (stars > 1) return Problem{Rule::invalid, "invalid wildcard: must have at most one wildcard"};
    if (stars == 1 && !s.starts_with("*.") && !s.ends_with(".*")) {
      return Problem{Rule::invalid, "invalid wildcard: must be placed at leftmost or rightmost label"};
    }
    std::string host(s);
    if (const auto at = host.find('*'); at != std::string::npos) host.replace(at, 1, "abc");
    const auto parsed = util::parse_address(host);
    if (!parsed.address) return Problem{Rule::invalid, parsed.error};
    return std::nullopt;
  })));
}

FieldDef router_paths() { return array("paths", string("path").check(on_string(router_path_problem))); }

FieldDef headers() { return map("headers", header_name("name"), array("values", string("value"))); }

FieldDef sources() { return ip_port_record("sources"); }
FieldDef destinations() { return ip_port_record("destinations"); }
FieldDef snis() { return set("snis", wildcard_host("sni")); }

FieldDef redis() {
  return record("redis", RecordDef{.fields = {
                                       host("host"),
                                       port("port").def(6379),
                                       timeout("timeout").def(2000),
                                       string("username").vault_referenceable(),
                                       string("password").vault_referenceable().len(0),
                                       integer("database").def(0),
                                       boolean("ssl").def(false),
                                       boolean("ssl_verify").def(false),
                                       sni("server_name"),
                                   }});
}

FieldDef queue() {
  return record("queue", RecordDef{.fields = {
                                       integer("max_batch_size").def(1).between(1, 1000000),
                                       number("max_coalescing_delay").def(1).between(0, 3600),
                                       integer("max_entries").def(10000).between(1, 1000000),
                                       integer("max_bytes"),
                                       number("max_retry_time").def(60),
                                       number("initial_retry_delay").def(0.01).between(0.001, 1000000),
                                       number("max_retry_delay").def(60).between(0.001, 1000000),
                                       integer("concurrency_limit").def(1).one_of_values({-1, 1}),
                                   }});
}

}  // namespace ok::schema::typedefs
