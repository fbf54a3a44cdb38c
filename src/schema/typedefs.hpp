#pragma once
// The shared field types of gateway entities, after Kong's kong/db/schema/typedefs.lua: each
// returns a FieldDef named as given, carrying the type's checks, which descriptions refine
// with the FieldDef modifiers (`typedefs::port("port").def(80).req()`).

#include "schema/entity.hpp"

namespace ok::schema::typedefs {

FieldDef id();          // UUID, generated when absent
FieldDef created_at();  // integer epoch seconds, set by the server
FieldDef updated_at();
FieldDef created_at_ms();  // float epoch seconds with milliseconds (targets)
FieldDef updated_at_ms();
FieldDef tags();  // set of tags: printable, no ',' or '/'
FieldDef uuid(std::string name);

FieldDef name(std::string name);       // [A-Za-z0-9.-_~]+, unique
FieldDef utf8_name(std::string name);  // the same plus any UTF-8 beyond ASCII, unique

FieldDef host(std::string name);                     // host name or IP, no port
FieldDef host_with_optional_port(std::string name);  // host name or IP, optional :port
FieldDef wildcard_host(std::string name);            // a name with at most one leading/trailing '*', no IP, no port
FieldDef sni(std::string name);                      // a name, no IP, no port
FieldDef ip(std::string name);
FieldDef ip_or_cidr(std::string name);
FieldDef cidr_v4(std::string name);
FieldDef port(std::string name);         // 0..65535
FieldDef timeout(std::string name);      // 0..2^31-2 milliseconds
FieldDef path(std::string name);         // starts with '/', no "//", RFC 3986 characters
FieldDef url(std::string name);          // an absolute URL with scheme and host
FieldDef header_name(std::string name);  // an HTTP token
FieldDef cookie_name(std::string name);
FieldDef http_method(std::string name);  // upper-case letters
FieldDef semantic_version(std::string name);
FieldDef certificate(std::string name);  // PEM certificate, parsed with OpenSSL
FieldDef key(std::string name);          // PEM private key, parsed with OpenSSL
FieldDef lua_code(std::string name);     // an array of Lua source strings

// Kong's protocols, and the sets plugins and routes take.
const std::vector<std::string>& all_protocols();
const std::vector<std::string>& http_protocols();  // grpc, grpcs, http, https
FieldDef protocol(std::string name);
FieldDef protocols();       // set of any protocol, required, default the HTTP ones
FieldDef protocols_http();  // set of HTTP-subsystem protocols only

// Route matchers.
FieldDef methods();
FieldDef hosts();
FieldDef router_paths();
FieldDef headers();
FieldDef sources();
FieldDef destinations();
FieldDef snis();

// Plugins shared by several plugins.
FieldDef redis();  // the `redis` record of rate-limiting, response-ratelimiting, proxy-cache …
FieldDef queue();  // the `queue` record of the log plugins

// Problems of the typedef checks, for descriptions that combine them.
std::optional<Problem> host_problem(std::string_view host);
std::optional<Problem> path_problem(std::string_view path);
std::optional<Problem> router_path_problem(std::string_view path);
std::optional<Problem> tag_problem(std::string_view tag);
// Why `pattern` does not compile as a PCRE regex (Kong's `is_regex`), or nullopt when it does.
std::optional<std::string> regex_error(std::string_view pattern);
// RFC 3986 normalization of a path as Kong's router does it (kong/tools/uri.lua).
std::string normalize_path(std::string_view path);

}  // namespace ok::schema::typedefs
