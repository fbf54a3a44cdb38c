#pragma once
// YAML documents as JSON values and back, for decK's declarative files (`config dump|diff|
// sync`), which may be either. libyaml parses (JSON through Boost.JSON, faster), yaml-cpp emits;
// what they leave to us is typing: every scalar arrives as text. Plain scalars are typed by YAML
// 1.2's core schema (null, booleans, integers, floats, else a string), quoted ones are strings,
// and strings that would read back as another type are quoted when emitted, so that a value
// survives a round trip.

#include <boost/json.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ok::declarative {

// What cannot be read, with where: "line 3, column 5: …" (1-based; JSON is YAML too).
class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct YamlLimits {
  // Anchors and aliases let a short file name one node many times over; a file that expands
  // beyond this many nodes is refused rather than filling the memory.
  std::size_t max_nodes = 20'000'000;
  std::size_t max_depth = 64;
};

// The single document in `text` as JSON. Throws FileError for a syntax error, a second
// document, a key that is not a scalar or appears twice in one mapping, an integer beyond 64
// bits, infinities and NaN (JSON has none), or a document beyond `limits`.
boost::json::value yaml_to_json(std::string_view text, const YamlLimits& limits = {});

// `value` as a YAML document (block style, keys in their order), ending with a newline.
std::string json_to_yaml(const boost::json::value& value);

}  // namespace ok::declarative
