// Gateway services (Kong's kong/db/schema/entities/services.lua): where a route's traffic goes.

#include "api/config/entities/entities.hpp"
#include "schema/typedefs.hpp"

#include <boost/url/parse.hpp>

namespace ok::api::config::entities {
namespace {

namespace bj = boost::json;
using namespace schema::fields;
namespace typedefs = schema::typedefs;
using schema::EntityCheck;

// The `url` shorthand: "https://api.internal:8443/v1" sets protocol, host, port and path.
std::optional<schema::Problem> expand_url(const bj::value& value, bj::object& service) {
  const auto parsed = boost::urls::parse_uri(std::string_view(value.get_string()));
  if (!parsed || parsed->host_address().empty()) {
    return schema::Problem{errors::Rule::invalid, "must be a URL such as http://example.com:8080/path"};
  }
  const auto& url = *parsed;
  const std::string protocol = url.scheme();
  service["protocol"] = protocol;
  service["host"] = url.host_address();
  if (url.has_port() && !url.port().empty()) {
    service["port"] = static_cast<std::int64_t>(url.port_number());
  } else {
    service["port"] = protocol == "https" ? 443 : 80;
  }
  const auto path = url.encoded_path();
  service["path"] = path.empty() ? bj::value(nullptr) : bj::value(std::string_view(path));
  return std::nullopt;
}

// 1 .. 2^31-2 milliseconds: a service's timeouts may not be zero.
schema::FieldDef service_timeout(std::string name) {
  return typedefs::timeout(std::move(name)).between(1, 2147483646).def(60000);
}

}  // namespace

ConfigEntity services() {
  const std::vector<bj::value> not_tls = {"grpc", "grpcs", "http", "tcp", "udp", "tls_passthrough", "ws", "wss"};
  return ConfigEntity{
      .def =
          {
              .name = "services",
              .display = "Service",
              .endpoint_key = "name",
              .record =
                  {
                      .fields =
                          {
                              typedefs::id(),
                              typedefs::created_at(),
                              typedefs::updated_at(),
                              typedefs::utf8_name("name"),
                              integer("retries").def(5).between(0, 32767),
                              typedefs::protocol("protocol").req().def("http"),
                              typedefs::host("host").req(),
                              typedefs::port("port").req().def(80),
                              typedefs::path("path"),
                              service_timeout("connect_timeout"),
                              service_timeout("write_timeout"),
                              service_timeout("read_timeout"),
                              typedefs::tags(),
                              foreign("client_certificate", "certificates"),
                              boolean("tls_verify"),
                              integer("tls_verify_depth").between(0, 64),
                              [] {
                                auto f = array("ca_certificates", typedefs::uuid("ca_certificate"));
                                f.element_reference = "ca_certificates";
                                return f;
                              }(),
                              record("tls_sans", {.fields = {array("dnsnames", typedefs::sni("dnsname")),
                                                             array("uris", typedefs::url("uri"))}})
                                  .req(false),
                              boolean("enabled").req().def(true),
                          },
                      .checks =
                          {
                              schema::conditional("protocol", {"tcp", "tls", "udp", "grpc", "grpcs"}, "path",
                                                  EntityCheck::Then::null),
                              schema::conditional("protocol", not_tls, "client_certificate", EntityCheck::Then::null),
                              schema::conditional("protocol", not_tls, "tls_verify", EntityCheck::Then::null),
                              schema::conditional("protocol", not_tls, "tls_verify_depth", EntityCheck::Then::null),
                              schema::conditional("protocol", not_tls, "ca_certificates", EntityCheck::Then::null),
                          },
                      .shorthands = {{string("url"), expand_url}},
                  },
          },
      .path = "services",
      .param = "ServiceId",
      .json_name = "service",
      .family = "services",
      .name_filters = {{"name", "name"}},
  };
}

}  // namespace ok::api::config::entities
