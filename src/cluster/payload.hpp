#pragma once
// The configuration a control plane pushes to its data planes, in Kong's hybrid protocol
// ("sync v1"): the `reconfigure` frame, a gzip of
//   {"type":"reconfigure","timestamp":…,"config_table":{…},"config_hash":"<32 hex>","hashes":{…}}
// made once per configuration change and sent as-is to every data plane of the control plane.
//
// The hashes: a data plane rebuilds its router only when the routes or services hash moved, its
// plugins iterator only when the plugins hash moved, its balancer only for upstreams or
// targets. So each section hash must change exactly when its section changes. Kong's own
// serialization need not be reproduced (data planes never recompute a hash): any stable,
// content-determined 32-character value works, and an absent or empty section is 32 zeros.

#include <boost/json/object.hpp>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

namespace ok::cluster {

inline const std::string kEmptyHash(32, '0');

struct SectionHashes {
  std::string config;  // = config_hash
  std::string routes;
  std::string services;
  std::string plugins;
  std::string upstreams;
  std::string targets;
};

struct Payload {
  std::string config_hash;
  SectionHashes hashes;
  std::string frame;  // the gzip'd reconfigure message
  std::size_t json_bytes = 0;
  std::set<std::string> plugins;  // names of the plugins the configuration uses
  std::size_t entities = 0;
  std::int64_t rendered_at = 0;  // epoch seconds
  // Renders are numbered (by the hub): a data plane given two never keeps the older one, even
  // when they reach it out of order.
  std::uint64_t sequence = 0;
};

// md5-hex of a deterministic serialization of `value` (object keys sorted); kEmptyHash for an
// absent value, null or an empty array.
std::string section_hash(const boost::json::value* value);

// Hashes `config_table` and builds the frame.
std::shared_ptr<Payload> make_payload(const boost::json::object& config_table, double timestamp);

// gzip (RFC 1952) of `data` (zlib's level: 1 fastest, 9 smallest, -1 its default), and back.
// gunzip throws std::runtime_error for corrupt input or output larger than `limit`.
std::string gzip(std::string_view data, int level = -1);
std::string gunzip(std::string_view data, std::size_t limit);

}  // namespace ok::cluster
