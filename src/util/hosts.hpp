#pragma once
// Host names and IP addresses as Kong reads them (kong/tools/ip.lua): an address is an IPv4
// address, an IPv6 address (bracketed when it carries a port) or a host name, each with an
// optional port. Used by the typedefs (host, sni, wildcard host …) and to normalize targets.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ok::util {

enum class HostType { ipv4, ipv6, name };

struct Address {
  HostType type = HostType::name;
  std::string host;  // IPv4 without leading zeros; IPv6 fully expanded, lower case; names as given
  std::optional<std::uint32_t> port;
};

// The address, or the reason it is not one ("invalid hostname: x", "invalid port number").
struct AddressResult {
  std::optional<Address> address;
  std::string error;
};
AddressResult parse_address(std::string_view text);

// "host:port" for a target: IPv6 in brackets, `default_port` when none was given.
std::string format_host_port(const Address& address, std::uint32_t default_port);

bool is_ip(std::string_view text);
bool is_ip_or_cidr(std::string_view text);
bool is_ipv4_or_cidr_v4(std::string_view text);

}  // namespace ok::util
