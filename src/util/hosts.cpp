#include "util/hosts.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace ok::util {
namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// A decimal port; nullopt when it is not one, 70000 and such come back as they are.
std::optional<std::uint64_t> parse_number(std::string_view s) {
  if (!all_digits(s) || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

AddressResult fail(std::string error) { return {std::nullopt, std::move(error)}; }

AddressResult parse_ipv4(std::string_view text) {
  std::string_view host = text;
  std::optional<std::uint32_t> port;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    host = text.substr(0, colon);
    const auto p = parse_number(text.substr(colon + 1));
    if (!p) return fail("invalid ipv4 address: " + std::string(text));
    if (*p > 65535) return fail("invalid port number");
    port = static_cast<std::uint32_t>(*p);
  }
  std::string out;
  std::size_t start = 0;
  int parts = 0;
  while (start <= host.size()) {
    const auto dot = host.find('.', start);
    const auto part = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    const auto n = parse_number(part);
    if (!n || part.size() > 3 || *n > 255) return fail("invalid ipv4 address: " + std::string(text));
    if (!out.empty()) out += '.';
    out += std::to_string(*n);
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (parts != 4) return fail("invalid ipv4 address: " + std::string(text));
  return {Address{HostType::ipv4, out, port}, {}};
}

AddressResult parse_ipv6(std::string_view text) {
  std::string_view check = text;
  std::optional<std::uint32_t> port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return fail("invalid ipv6 address: " + std::string(text));
    check = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return fail("invalid ipv6 address");
      const auto p = parse_number(rest.substr(1));
      if (!p) return fail("invalid ipv6 address");
      if (*p > 65535) return fail("invalid port number");
      port = static_cast<std::uint32_t>(*p);
    }
  }
  in6_addr addr{};
  const std::string copy(check);
  if (inet_pton(AF_INET6, copy.c_str(), &addr) != 1) return fail("invalid ipv6 address: " + std::string(text));
  std::string out;
  static const char* hex = "0123456789abcdef";
  for (int i = 0; i < 16; i += 2) {
    if (i) out += ':';
    for (int b : {addr.s6_addr[i], addr.s6_addr[i + 1]}) {
      out += hex[b >> 4];
      out += hex[b & 15];
    }
  }
  return {Address{HostType::ipv6, out, port}, {}};
}

AddressResult parse_name(std::string_view text) {
  std::string_view name = text;
  std::optional<std::uint32_t> port;
  if (const auto colon = text.rfind(':'); colon != std::string_view::npos && all_digits(text.substr(colon + 1))) {
    const auto p = parse_number(text.substr(colon + 1));
    if (!p || *p > 65535) return fail("invalid port number");
    port = static_cast<std::uint32_t>(*p);
    name = text.substr(0, colon);
  }
  const bool chars_ok = !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '.' || c == '_';
  });
  if (!chars_ok) return fail("invalid hostname: " + std::string(text));
  // Labels must not end in '-'; empty labels only as a trailing dot (an FQDN).
  std::vector<std::string_view> labels;
  std::size_t start = 0;
  while (true) {
    const auto dot = name.find('.', start);
    labels.push_back(name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto label = labels[i];
    if ((label.empty() && i + 1 != labels.size()) || (!label.empty() && label.back() == '-')) {
      return fail("invalid hostname: " + std::string(text));
    }
  }
  return {Address{HostType::name, std::string(name), port}, {}};
}

bool parse_cidr(std::string_view text, int family) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return false;
  const auto prefix = parse_number(text.substr(slash + 1));
  const std::string ip(text.substr(0, slash));
  unsigned char buf[16];
  if (!prefix || inet_pton(family, ip.c_str(), buf) != 1) return false;
  return *prefix <= (family == AF_INET ? 32u : 128u);
}

bool ip_of(std::string_view text, int family) {
  const std::string copy(text);
  unsigned char buf[16];
  return inet_pton(family, copy.c_str(), buf) == 1;
}

}  // namespace

AddressResult parse_address(std::string_view text) {
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons > 1) return parse_ipv6(text);
  const auto host = text.substr(0, text.find(':'));
  if (!host.empty() &&
      std::all_of(host.begin(), host.end(), [](unsigned char c) { return std::isdigit(c) || c == '.'; })) {
    return parse_ipv4(text);
  }
  return parse_name(text);
}

std::string format_host_port(const Address& address, std::uint32_t default_port) {
  const auto port = std::to_string(address.port.value_or(default_port));
  if (address.type == HostType::ipv6) return "[" + address.host + "]:" + port;
  return address.host + ":" + port;
}

bool is_ip(std::string_view text) { return ip_of(text, AF_INET) || ip_of(text, AF_INET6); }

bool is_ip_or_cidr(std::string_view text) {
  return is_ip(text) || parse_cidr(text, AF_INET) || parse_cidr(text, AF_INET6);
}

bool is_ipv4_or_cidr_v4(std::string_view text) { return ip_of(text, AF_INET) || parse_cidr(text, AF_INET); }

}  // namespace ok::util
