#include "util/hosts.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using ok::util::Address;
using ok::util::format_host_port;
using ok::util::HostType;
using ok::util::is_ip;
using ok::util::is_ip_or_cidr;
using ok::util::is_ipv4_or_cidr_v4;
using ok::util::parse_address;

// Parses `text`, expecting it to be an address, and returns it.
Address parsed(std::string_view text) {
  const auto result = parse_address(text);
  EXPECT_TRUE(result.address.has_value()) << text << ": " << result.error;
  return result.address.value_or(Address{});
}

// Parses `text`, expecting it to be refused, and returns the reason.
std::string refused(std::string_view text) {
  const auto result = parse_address(text);
  EXPECT_FALSE(result.address.has_value()) << text << " was accepted as " << result.address->host;
  return result.error;
}

// ---------------------------------------------------------------- IPv4

TEST(Hosts, Ipv4IsKeptWithoutPort) {
  const auto a = parsed("192.168.0.1");
  EXPECT_EQ(a.type, HostType::ipv4);
  EXPECT_EQ(a.host, "192.168.0.1");
  EXPECT_FALSE(a.port.has_value());
}

TEST(Hosts, Ipv4LeadingZerosAreDropped) {
  // Kong normalizes targets this way, so "010.000.000.001" and "10.0.0.1" are one target.
  const auto a = parsed("010.000.000.001");
  EXPECT_EQ(a.type, HostType::ipv4);
  EXPECT_EQ(a.host, "10.0.0.1");
}

TEST(Hosts, Ipv4OutOfRangeOrMalformedIsRefused) {
  EXPECT_EQ(refused("256.0.0.1"), "invalid ipv4 address: 256.0.0.1");
  EXPECT_EQ(refused("1.2.3"), "invalid ipv4 address: 1.2.3");
  EXPECT_EQ(refused("1.2.3.4.5"), "invalid ipv4 address: 1.2.3.4.5");
  EXPECT_EQ(refused("1..2.3"), "invalid ipv4 address: 1..2.3");
  // Four digits in an octet is not a leading zero any more.
  EXPECT_EQ(refused("0001.2.3.4"), "invalid ipv4 address: 0001.2.3.4");
  // A bare number is read as an IPv4 address (Kong's hostname_type), not as a name.
  EXPECT_EQ(refused("123"), "invalid ipv4 address: 123");
}

TEST(Hosts, Ipv4WithPort) {
  const auto a = parsed("10.0.0.1:8080");
  EXPECT_EQ(a.type, HostType::ipv4);
  EXPECT_EQ(a.host, "10.0.0.1");
  EXPECT_EQ(a.port, 8080u);

  EXPECT_EQ(parsed("10.0.0.1:0").port, 0u);
  EXPECT_EQ(parsed("10.0.0.1:65535").port, 65535u);
  EXPECT_EQ(refused("10.0.0.1:65536"), "invalid port number");
  EXPECT_EQ(refused("10.0.0.1:"), "invalid ipv4 address: 10.0.0.1:");
  EXPECT_EQ(refused("10.0.0.1:http"), "invalid ipv4 address: 10.0.0.1:http");
}

// ---------------------------------------------------------------- IPv6

TEST(Hosts, BareIpv6IsExpandedInLowerCase) {
  const auto loopback = parsed("::1");
  EXPECT_EQ(loopback.type, HostType::ipv6);
  EXPECT_EQ(loopback.host, "0000:0000:0000:0000:0000:0000:0000:0001");
  EXPECT_FALSE(loopback.port.has_value());

  EXPECT_EQ(parsed("FE80::A:1").host, "fe80:0000:0000:0000:0000:0000:000a:0001");
  EXPECT_EQ(parsed("2001:db8:0:0:1:0:0:1").host, "2001:0db8:0000:0000:0001:0000:0000:0001");
}

TEST(Hosts, BracketedIpv6WithPort) {
  const auto a = parsed("[2001:DB8::1]:8443");
  EXPECT_EQ(a.type, HostType::ipv6);
  EXPECT_EQ(a.host, "2001:0db8:0000:0000:0000:0000:0000:0001");
  EXPECT_EQ(a.port, 8443u);

  const auto no_port = parsed("[::1]");
  EXPECT_EQ(no_port.host, "0000:0000:0000:0000:0000:0000:0000:0001");
  EXPECT_FALSE(no_port.port.has_value());
}

TEST(Hosts, MalformedIpv6IsRefused) {
  EXPECT_EQ(refused("[::1]:65536"), "invalid port number");
  EXPECT_EQ(refused("[::1]x"), "invalid ipv6 address");
  EXPECT_EQ(refused("[::1]:"), "invalid ipv6 address");
  EXPECT_EQ(refused("[::1"), "invalid ipv6 address: [::1");
  EXPECT_EQ(refused("1:2:3:4:5:6:7:8:9"), "invalid ipv6 address: 1:2:3:4:5:6:7:8:9");
  EXPECT_EQ(refused("::g"), "invalid ipv6 address: ::g");
}

// ---------------------------------------------------------------- names

TEST(Hosts, NamesAreKeptAsGivenWithOptionalPort) {
  const auto plain = parsed("Example.COM");
  EXPECT_EQ(plain.type, HostType::name);
  EXPECT_EQ(plain.host, "Example.COM");
  EXPECT_FALSE(plain.port.has_value());

  const auto with_port = parsed("api.example.com:8000");
  EXPECT_EQ(with_port.type, HostType::name);
  EXPECT_EQ(with_port.host, "api.example.com");
  EXPECT_EQ(with_port.port, 8000u);

  // An FQDN may end in a dot; underscores and a leading '-' (punycode) are Kong's too.
  EXPECT_EQ(parsed("example.com.").host, "example.com.");
  EXPECT_EQ(parsed("my_service").host, "my_service");
  EXPECT_EQ(parsed("-a.example").host, "-a.example");
}

TEST(Hosts, InvalidNamesAreRefused) {
  EXPECT_EQ(refused("a-.b"), "invalid hostname: a-.b");
  EXPECT_EQ(refused("a..b"), "invalid hostname: a..b");
  EXPECT_EQ(refused("a b"), "invalid hostname: a b");
  EXPECT_EQ(refused(".a"), "invalid hostname: .a");
  EXPECT_EQ(refused(""), "invalid hostname: ");
  EXPECT_EQ(refused("a:"), "invalid hostname: a:");
  EXPECT_EQ(refused("a:b"), "invalid hostname: a:b");
}

TEST(Hosts, NamePortAbove65535IsRefused) {
  EXPECT_EQ(refused("example.com:65536"), "invalid port number");
  EXPECT_EQ(refused("example.com:99999999999"), "invalid port number");
  EXPECT_EQ(parsed("example.com:65535").port, 65535u);
}

// ---------------------------------------------------------------- format_host_port

TEST(Hosts, FormatHostPortUsesDefaultPortAndBracketsIpv6) {
  EXPECT_EQ(format_host_port(parsed("example.com"), 8000), "example.com:8000");
  EXPECT_EQ(format_host_port(parsed("example.com:81"), 8000), "example.com:81");
  EXPECT_EQ(format_host_port(parsed("010.0.0.1"), 80), "10.0.0.1:80");
  EXPECT_EQ(format_host_port(parsed("::1"), 443), "[0000:0000:0000:0000:0000:0000:0000:0001]:443");
  EXPECT_EQ(format_host_port(parsed("[::1]:8443"), 443), "[0000:0000:0000:0000:0000:0000:0000:0001]:8443");
}

TEST(Hosts, FormattedTargetParsesBackToTheSameAddress) {
  // What a target is stored as must read back as the same target.
  for (const char* text : {"example.com:81", "10.0.0.1:80", "[2001:db8::1]:8443"}) {
    const auto first = parsed(text);
    const auto again = parsed(format_host_port(first, 1));
    EXPECT_EQ(again.type, first.type) << text;
    EXPECT_EQ(again.host, first.host) << text;
    EXPECT_EQ(again.port, first.port) << text;
  }
}

// ---------------------------------------------------------------- ip and cidr predicates

TEST(Hosts, IsIp) {
  EXPECT_TRUE(is_ip("10.0.0.1"));
  EXPECT_TRUE(is_ip("::1"));
  EXPECT_TRUE(is_ip("2001:db8::1"));
  EXPECT_FALSE(is_ip("10.0.0.1/8"));
  EXPECT_FALSE(is_ip("10.0.0.256"));
  EXPECT_FALSE(is_ip("example.com"));
  EXPECT_FALSE(is_ip("[::1]"));
  EXPECT_FALSE(is_ip(""));
}

TEST(Hosts, IsIpOrCidr) {
  EXPECT_TRUE(is_ip_or_cidr("10.0.0.1"));
  EXPECT_TRUE(is_ip_or_cidr("10.0.0.0/8"));
  EXPECT_TRUE(is_ip_or_cidr("0.0.0.0/0"));
  EXPECT_TRUE(is_ip_or_cidr("10.0.0.0/32"));
  EXPECT_TRUE(is_ip_or_cidr("::/0"));
  EXPECT_TRUE(is_ip_or_cidr("2001:db8::/128"));
  EXPECT_FALSE(is_ip_or_cidr("10.0.0.0/33"));
  EXPECT_FALSE(is_ip_or_cidr("2001:db8::/129"));
  EXPECT_FALSE(is_ip_or_cidr("10.0.0.0/"));
  EXPECT_FALSE(is_ip_or_cidr("10.0.0.0/x"));
  EXPECT_FALSE(is_ip_or_cidr("example.com/8"));
}

TEST(Hosts, LeadingZerosAreAHostButNotAnIpAsInKong) {
  // Kong reads hosts and targets with its own parser, which takes "010.0.0.1" as 10.0.0.1, and
  // checks `ip`/`ip_or_cidr` fields with inet_pton, which refuses it. Both are kept as Kong has
  // them, so that what Kong accepts here is what a data plane accepts.
  ASSERT_EQ(parsed("010.0.0.1").type, HostType::ipv4);
  EXPECT_EQ(parsed("010.0.0.1").host, "10.0.0.1");
  EXPECT_FALSE(is_ip("010.0.0.1"));
  EXPECT_FALSE(is_ip_or_cidr("010.0.0.0/8"));
}

TEST(Hosts, IsIpv4OrCidrV4RefusesIpv6) {
  EXPECT_TRUE(is_ipv4_or_cidr_v4("192.168.1.1"));
  EXPECT_TRUE(is_ipv4_or_cidr_v4("192.168.0.0/16"));
  EXPECT_FALSE(is_ipv4_or_cidr_v4("192.168.0.0/33"));
  EXPECT_FALSE(is_ipv4_or_cidr_v4("::1"));
  EXPECT_FALSE(is_ipv4_or_cidr_v4("::/0"));
  EXPECT_FALSE(is_ipv4_or_cidr_v4("example.com"));
}

}  // namespace
