#include "cluster/payload.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace bj = boost::json;
namespace cluster = ok::cluster;

constexpr std::size_t kLimit = 64 * 1024 * 1024;
const char* const kSections[] = {"routes", "services", "plugins", "upstreams", "targets"};

bool is_lower_hex32(const std::string& s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string hash_of(std::string_view json) {
  const auto v = bj::parse(json);
  return cluster::section_hash(&v);
}

// A configuration shaped like Kong's export: every section present, with nested values.
bj::object sample_config() {
  return bj::parse(R"({
    "_format_version": "3.0",
    "_transform": false,
    "services": [{"id": "s1", "name": "svc", "host": "example.com", "port": 80, "retries": 5,
                  "tls_verify": null, "enabled": true}],
    "routes": [{"id": "r1", "service": "s1", "paths": ["/a", "/b"], "strip_path": true,
                "headers": {"x-env": ["prod"]}}],
    "plugins": [{"id": "p1", "name": "rate-limiting", "config": {"minute": 10, "policy": "local"}},
                {"id": "p2", "name": "key-auth", "config": {"key_names": ["apikey"]}}],
    "upstreams": [{"id": "u1", "name": "up", "algorithm": "round-robin",
                   "healthchecks": {"active": {"timeout": 1.5}}}],
    "targets": [{"id": "t1", "upstream": "u1", "target": "10.0.0.1:80", "weight": 100}],
    "consumers": [{"id": "c1", "username": "alice", "custom_id": null}],
    "keyauth_credentials": [{"id": "k1", "consumer": "c1", "key": "secret"}]
  })")
      .as_object();
}

struct Decoded {
  bj::object message;
  std::string json;
};

Decoded decode(const cluster::Payload& p) {
  Decoded d;
  d.json = cluster::gunzip(p.frame, kLimit);
  d.message = bj::parse(d.json).as_object();
  return d;
}

// --- section_hash

TEST(SectionHash, IsThirtyTwoLowerCaseHexDigits) {
  for (const char* json : {R"("x")", "0", "1", "-2.5", "true", "false", R"([1])", R"({})", R"({"a":[1,2,{"b":null}]})",
                           R"("")", R"([null])", R"("UPPER CASE")"}) {
    const auto h = hash_of(json);
    EXPECT_TRUE(is_lower_hex32(h)) << json << " -> " << h;
    EXPECT_NE(h, cluster::kEmptyHash) << json;
  }
}

TEST(SectionHash, EmptyHashForAbsentNullAndEmptyArray) {
  EXPECT_EQ(cluster::kEmptyHash, std::string(32, '0'));
  EXPECT_EQ(cluster::section_hash(nullptr), cluster::kEmptyHash);
  const bj::value null_value;
  EXPECT_EQ(cluster::section_hash(&null_value), cluster::kEmptyHash);
  const bj::value empty_array = bj::array{};
  EXPECT_EQ(cluster::section_hash(&empty_array), cluster::kEmptyHash);
  // Only those: an array holding an empty array, or the string "null", are content.
  EXPECT_NE(hash_of("[[]]"), cluster::kEmptyHash);
  EXPECT_NE(hash_of(R"("null")"), cluster::kEmptyHash);
  EXPECT_NE(hash_of("[null]"), cluster::kEmptyHash);
}

TEST(SectionHash, IsDeterministic) {
  const bj::value v = sample_config();
  EXPECT_EQ(cluster::section_hash(&v), cluster::section_hash(&v));
  const bj::value copy = v;
  EXPECT_EQ(cluster::section_hash(&v), cluster::section_hash(&copy));
}

TEST(SectionHash, StableAcrossObjectKeyOrder) {
  bj::object inner_forward;
  inner_forward["x"] = 1;
  inner_forward["y"] = "two";
  inner_forward["z"] = bj::array{1, 2, 3};
  bj::object inner_backward;
  inner_backward["z"] = bj::array{1, 2, 3};
  inner_backward["y"] = "two";
  inner_backward["x"] = 1;

  bj::object forward;
  forward["alpha"] = "a";
  forward["beta"] = nullptr;
  forward["gamma"] = inner_forward;
  forward["delta"] = bj::array{inner_forward, "s"};
  bj::object backward;
  backward["delta"] = bj::array{inner_backward, "s"};
  backward["gamma"] = inner_backward;
  backward["beta"] = nullptr;
  backward["alpha"] = "a";

  // The two really differ in their order (so the test tests something).
  ASSERT_NE(bj::serialize(forward), bj::serialize(backward));
  const bj::value f = forward, b = backward;
  EXPECT_EQ(cluster::section_hash(&f), cluster::section_hash(&b));

  // Keys that sort differently bytewise and by length.
  EXPECT_EQ(hash_of(R"({"a":1,"aa":2,"B":3,"b":4})"), hash_of(R"({"b":4,"B":3,"aa":2,"a":1})"));
  // Array order is content.
  EXPECT_NE(hash_of("[1,2]"), hash_of("[2,1]"));
}

TEST(SectionHash, DistinctContentGivesDistinctHashes) {
  // Each pair is a trap for a naive serialization; all of these must hash differently.
  const std::vector<std::string> values = {
      R"({"a":"x"})",
      R"({"a":"y"})",
      R"({"a":1})",
      R"({"a":2})",
      R"({"a":1.5})",
      R"({"a":"1"})",
      R"({"a":null})",
      R"({"a":"null"})",
      R"({"a":"/null/"})",
      R"({"a":true})",
      R"({"a":"true"})",
      R"({"a":false})",
      R"({"a":{}})",
      R"({"a":[]})",
      R"({"a":""})",
      R"({"a":"{}"})",
      R"(["a;b"])",
      R"(["a","b"])",
      R"(["a","b",""])",
      R"(["a;","b"])",
      R"({"a:b":1})",
      R"({"a":"b:1"})",
      R"({"a:b":"c"})",
      R"({"a":"b:c"})",
      R"({"a":"x;b:y"})",
      R"({"a":"x","b":"y"})",
      R"({"a;b":"x"})",
      R"({"a":"x;","b":"y"})",
      R"(["a\",\"b"])",
      R"(["a\\","b"])",
      R"(["a\\\",\"b"])",
      R"({"a\"":"b"})",
      R"({"a":"\"b"})",
      R"([["a"],"b"])",
      R"(["a",["b"]])",
      R"([["a","b"]])",
      R"([[],[]])",
      R"([[]])",
      R"([{}])",
      R"([{},{}])",
      R"({"a":{"b":{"c":1}}})",
      R"({"a":{"b":{"c":2}}})",
      R"({"a":{"b":{"d":1}}})",
      R"({"a":{"b.c":1}})",
      R"({"ab":"c"})",
      R"({"a":"bc"})",
      R"(["ab"])",
      R"(["a","b","c","d","e","f"])",
      R"(["a","b","c","d","e"])",
      R"(["a","b","c","d","e;f"])",
      R"("a")",
      R"(["a"])",
      R"({"a":"a"})",
      R"(1)",
      R"("1")",
      R"([1])",
  };
  std::map<std::string, std::string> seen;
  for (const auto& json : values) {
    const auto h = hash_of(json);
    EXPECT_TRUE(is_lower_hex32(h));
    const auto [it, fresh] = seen.emplace(h, json);
    EXPECT_TRUE(fresh) << json << " hashes like " << it->second;
  }
}

// Every leaf of the sample, changed on its own, moves the hash.
TEST(SectionHash, ChangesWhenAnyNestedValueChanges) {
  const bj::value original = sample_config();
  const auto base = cluster::section_hash(&original);
  std::size_t leaves = 0;
  // Walks the copy's leaves; `mutate` changes one, the hash is compared, and it is put back.
  std::function<void(bj::value&, bj::value&, const std::string&)> walk = [&](bj::value& root, bj::value& v,
                                                                             const std::string& path) {
    auto check = [&](bj::value replacement) {
      bj::value saved = v;
      v = std::move(replacement);
      EXPECT_NE(cluster::section_hash(&root), base) << path << " changed to " << bj::serialize(v);
      v = std::move(saved);
    };
    switch (v.kind()) {
      case bj::kind::object:
        for (auto& kv : v.get_object()) walk(root, kv.value(), path + "." + std::string(kv.key()));
        return;
      case bj::kind::array: {
        auto& a = v.get_array();
        for (std::size_t i = 0; i < a.size(); ++i) walk(root, a[i], path + "[" + std::to_string(i) + "]");
        return;
      }
      case bj::kind::string:
        ++leaves;
        check(bj::string(std::string(v.get_string()) + "x"));
        check(bj::string(""));
        return;
      case bj::kind::int64:
        ++leaves;
        check(v.get_int64() + 1);
        check(bj::string(std::to_string(v.get_int64())));
        return;
      case bj::kind::double_:
        ++leaves;
        check(v.get_double() * 2);
        return;
      case bj::kind::bool_:
        ++leaves;
        check(!v.get_bool());
        return;
      case bj::kind::null:
        ++leaves;
        check(bj::string("null"));
        check(bj::string("/null/"));
        return;
      default:
        return;
    }
  };
  bj::value copy = original;
  walk(copy, copy, "$");
  EXPECT_GT(leaves, 30u);
  EXPECT_EQ(cluster::section_hash(&copy), base);  // every change was undone
}

// --- make_payload

TEST(MakePayload, FrameIsTheReconfigureMessage) {
  const auto config = sample_config();
  const double timestamp = 1712345678.25;
  const auto p = cluster::make_payload(config, timestamp);
  ASSERT_TRUE(p);
  ASSERT_GE(p->frame.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(p->frame[0]), 0x1f);  // gzip magic
  EXPECT_EQ(static_cast<unsigned char>(p->frame[1]), 0x8b);

  const auto d = decode(*p);
  EXPECT_EQ(d.json.size(), p->json_bytes);
  const auto& m = d.message;
  EXPECT_EQ(m.at("type").as_string(), "reconfigure");
  EXPECT_DOUBLE_EQ(m.at("timestamp").to_number<double>(), timestamp);
  EXPECT_EQ(p->rendered_at, 1712345678);
  EXPECT_EQ(m.at("config_table"), bj::value(config));

  const auto& hashes = m.at("hashes").as_object();
  EXPECT_EQ(m.at("config_hash").as_string(), p->config_hash);
  EXPECT_EQ(hashes.at("config").as_string(), p->config_hash);
  EXPECT_EQ(p->hashes.config, p->config_hash);
  EXPECT_TRUE(is_lower_hex32(p->config_hash));
  EXPECT_NE(p->config_hash, cluster::kEmptyHash);
  EXPECT_EQ(hashes.size(), 6u);

  const std::map<std::string, const std::string*> fields = {
      {"routes", &p->hashes.routes},       {"services", &p->hashes.services}, {"plugins", &p->hashes.plugins},
      {"upstreams", &p->hashes.upstreams}, {"targets", &p->hashes.targets},
  };
  for (const char* section : kSections) {
    const auto expected = cluster::section_hash(config.if_contains(section));
    EXPECT_NE(expected, cluster::kEmptyHash) << section;
    EXPECT_EQ(hashes.at(section).as_string(), expected) << section;
    EXPECT_EQ(*fields.at(section), expected) << section;
  }

  // Entities: the rows of every array section.
  std::size_t rows = 0;
  for (const auto& kv : config) {
    if (kv.value().is_array()) rows += kv.value().get_array().size();
  }
  EXPECT_EQ(p->entities, rows);
}

TEST(MakePayload, AbsentAndEmptySectionsHashEmpty) {
  bj::object config{{"_format_version", "3.0"}, {"routes", bj::array{}}, {"services", nullptr}};
  const auto p = cluster::make_payload(config, 1.0);
  for (const auto* h :
       {&p->hashes.routes, &p->hashes.services, &p->hashes.plugins, &p->hashes.upstreams, &p->hashes.targets}) {
    EXPECT_EQ(*h, cluster::kEmptyHash);
  }
  EXPECT_TRUE(is_lower_hex32(p->config_hash));
  EXPECT_NE(p->config_hash, cluster::kEmptyHash);
  EXPECT_TRUE(p->plugins.empty());
  EXPECT_EQ(decode(*p).message.at("config_table"), bj::value(config));
}

TEST(MakePayload, SameContentSameHashesWhateverTheTimestamp) {
  const auto a = cluster::make_payload(sample_config(), 1.0);
  const auto b = cluster::make_payload(sample_config(), 2.0);
  EXPECT_EQ(a->config_hash, b->config_hash);
  EXPECT_EQ(a->hashes.routes, b->hashes.routes);
  EXPECT_EQ(a->hashes.plugins, b->hashes.plugins);
}

// Changing one of the five sections moves that section's hash and the config hash, no other.
TEST(MakePayload, ChangingOneSectionMovesOnlyItsHashAndTheConfigHash) {
  const auto base = cluster::make_payload(sample_config(), 1.0);
  auto section_of = [](const cluster::Payload& p, std::string_view name) -> const std::string& {
    if (name == "routes") return p.hashes.routes;
    if (name == "services") return p.hashes.services;
    if (name == "plugins") return p.hashes.plugins;
    if (name == "upstreams") return p.hashes.upstreams;
    return p.hashes.targets;
  };
  for (const char* changed : kSections) {
    auto config = sample_config();
    config.at(changed).as_array()[0].as_object()["tags"] = bj::array{"changed"};
    const auto p = cluster::make_payload(config, 1.0);
    EXPECT_NE(p->config_hash, base->config_hash) << changed;
    for (const char* section : kSections) {
      if (std::string_view(section) == changed) {
        EXPECT_NE(section_of(*p, section), section_of(*base, section)) << changed;
      } else {
        EXPECT_EQ(section_of(*p, section), section_of(*base, section))
            << section << " moved when " << changed << " changed";
      }
    }
  }
}

TEST(MakePayload, ChangingOnlyRoutesMovesRoutesAndConfig) {
  const auto base = cluster::make_payload(sample_config(), 1.0);
  auto config = sample_config();
  config.at("routes").as_array()[0].as_object()["paths"].as_array().emplace_back("/c");
  const auto p = cluster::make_payload(config, 1.0);
  EXPECT_NE(p->hashes.routes, base->hashes.routes);
  EXPECT_NE(p->config_hash, base->config_hash);
  EXPECT_EQ(p->hashes.services, base->hashes.services);
  EXPECT_EQ(p->hashes.plugins, base->hashes.plugins);
  EXPECT_EQ(p->hashes.upstreams, base->hashes.upstreams);
  EXPECT_EQ(p->hashes.targets, base->hashes.targets);
}

TEST(MakePayload, ChangingConsumersOrCredentialsMovesOnlyTheConfigHash) {
  const auto base = cluster::make_payload(sample_config(), 1.0);
  std::vector<std::function<void(bj::object&)>> changes = {
      [](bj::object& c) { c.at("consumers").as_array()[0].as_object()["username"] = "bob"; },
      [](bj::object& c) {
        c.at("consumers").as_array().push_back(bj::object{{"id", "c2"}});
      },
      [](bj::object& c) { c.at("keyauth_credentials").as_array()[0].as_object()["key"] = "other"; },
      [](bj::object& c) { c.erase("keyauth_credentials"); },
      [](bj::object& c) {
        c["certificates"] = bj::array{bj::object{{"id", "cert1"}}};
      },
      [](bj::object& c) { c["_format_version"] = "3.1"; },
  };
  std::map<std::string, std::size_t> seen{{base->config_hash, 99}};
  for (std::size_t i = 0; i < changes.size(); ++i) {
    auto config = sample_config();
    changes[i](config);
    const auto p = cluster::make_payload(config, 1.0);
    EXPECT_TRUE(seen.emplace(p->config_hash, i).second) << "change " << i << " did not move the config hash uniquely";
    EXPECT_EQ(p->hashes.routes, base->hashes.routes) << i;
    EXPECT_EQ(p->hashes.services, base->hashes.services) << i;
    EXPECT_EQ(p->hashes.plugins, base->hashes.plugins) << i;
    EXPECT_EQ(p->hashes.upstreams, base->hashes.upstreams) << i;
    EXPECT_EQ(p->hashes.targets, base->hashes.targets) << i;
  }
}

// Content moved between the "rest" and a section must still move the config hash.
TEST(MakePayload, ConfigHashDependsOnWhereContentLives) {
  bj::object a{{"routes", bj::array{bj::object{{"id", "x"}}}}};
  bj::object b{{"consumers", bj::array{bj::object{{"id", "x"}}}}};
  EXPECT_NE(cluster::make_payload(a, 1.0)->config_hash, cluster::make_payload(b, 1.0)->config_hash);
  bj::object c{{"services", bj::array{bj::object{{"id", "x"}}}}};
  EXPECT_NE(cluster::make_payload(a, 1.0)->config_hash, cluster::make_payload(c, 1.0)->config_hash);
}

TEST(MakePayload, PluginsListsTheConfiguredPluginNames) {
  auto config = sample_config();
  auto& plugins = config.at("plugins").as_array();
  plugins.push_back(bj::object{{"id", "p3"}, {"name", "rate-limiting"}});  // a second instance
  plugins.push_back(bj::object{{"id", "p4"}});                             // no name: ignored
  plugins.push_back(bj::object{{"id", "p5"}, {"name", 7}});                // not a string: ignored
  plugins.push_back("not an object");
  const auto p = cluster::make_payload(config, 1.0);
  EXPECT_EQ(p->plugins, (std::set<std::string>{"key-auth", "rate-limiting"}));

  bj::object none{{"services", bj::array{}}};
  EXPECT_TRUE(cluster::make_payload(none, 1.0)->plugins.empty());
}

// --- gzip / gunzip

std::string random_ish(std::size_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out;
  out.reserve(size);
  // Half random bytes, half runs of text, so that deflate has something to do both ways.
  while (out.size() < size) {
    if (rng() % 2) {
      for (int i = 0; i < 64 && out.size() < size; ++i) out.push_back(static_cast<char>(rng() & 0xff));
    } else {
      const std::string word = "route-" + std::to_string(rng() % 1000) + ";";
      out.append(word, 0, std::min(word.size(), size - out.size()));
    }
  }
  return out;
}

TEST(Gzip, RoundTripsEmptyInput) {
  const auto z = cluster::gzip("");
  EXPECT_FALSE(z.empty());  // a header and a trailer
  EXPECT_EQ(cluster::gunzip(z, 0), "");
  EXPECT_EQ(cluster::gunzip(z, kLimit), "");
}

TEST(Gzip, RoundTripsAMebibyte) {
  const auto data = random_ish(1024 * 1024, 42);
  ASSERT_EQ(data.size(), 1024u * 1024u);
  const auto z = cluster::gzip(data);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  EXPECT_EQ(cluster::gunzip(z, kLimit), data);
  // The limit is inclusive.
  EXPECT_EQ(cluster::gunzip(z, data.size()), data);
}

TEST(Gzip, CompressesRepetitiveInput) {
  const std::string data(1024 * 1024, 'a');
  const auto z = cluster::gzip(data);
  EXPECT_LT(z.size(), data.size() / 100);
  EXPECT_EQ(cluster::gunzip(z, kLimit), data);
}

TEST(Gunzip, RefusesInputThatIsNotGzip) {
  EXPECT_THROW(cluster::gunzip("", kLimit), std::runtime_error);
  EXPECT_THROW(cluster::gunzip("hello, world", kLimit), std::runtime_error);
  EXPECT_THROW(cluster::gunzip(std::string(100, '\0'), kLimit), std::runtime_error);
  EXPECT_THROW(cluster::gunzip(random_ish(4096, 7), kLimit), std::runtime_error);
}

TEST(Gunzip, RefusesCorruptInput) {
  const auto data = random_ish(32 * 1024, 3);
  const auto z = cluster::gzip(data);
  // One flipped byte anywhere after the header's fixed part: a structure or checksum error.
  // (Bytes 4-9 are MTIME, XFL and OS, which gunzip need not check.)
  std::size_t refused = 0, positions = 0;
  for (std::size_t at = 10; at < z.size(); at += 97) {
    auto bad = z;
    bad[at] = static_cast<char>(bad[at] ^ 0x5a);
    ++positions;
    try {
      const auto out = cluster::gunzip(bad, kLimit);
      ADD_FAILURE() << "a flipped byte at " << at << " went unnoticed";
    } catch (const std::runtime_error&) {
      ++refused;
    }
  }
  EXPECT_EQ(refused, positions);
  // The trailer: CRC-32 and length.
  for (std::size_t back = 1; back <= 8; ++back) {
    auto bad = z;
    bad[z.size() - back] = static_cast<char>(bad[z.size() - back] ^ 0x01);
    EXPECT_THROW(cluster::gunzip(bad, kLimit), std::runtime_error) << "trailer byte " << back;
  }
  // The header's magic.
  auto bad = z;
  bad[0] = 'x';
  EXPECT_THROW(cluster::gunzip(bad, kLimit), std::runtime_error);
}

TEST(Gunzip, RefusesTruncatedInput) {
  const auto small = cluster::gzip("{\"type\":\"reconfigure\",\"config_table\":{}}");
  for (std::size_t n = 0; n < small.size(); ++n) {
    EXPECT_THROW(cluster::gunzip(small.substr(0, n), kLimit), std::runtime_error) << "prefix of " << n << " bytes";
  }
  const auto big = cluster::gzip(random_ish(512 * 1024, 9));
  for (std::size_t n : {big.size() / 3, big.size() / 2, big.size() - 9, big.size() - 1}) {
    EXPECT_THROW(cluster::gunzip(big.substr(0, n), kLimit), std::runtime_error) << "prefix of " << n << " bytes";
  }
}

TEST(Gunzip, RefusesOutputOverTheLimit) {
  const std::string data(256 * 1024, 'z');
  const auto z = cluster::gzip(data);
  EXPECT_THROW(cluster::gunzip(z, data.size() - 1), std::runtime_error);
  EXPECT_THROW(cluster::gunzip(z, 1000), std::runtime_error);
  EXPECT_THROW(cluster::gunzip(z, 0), std::runtime_error);
  EXPECT_EQ(cluster::gunzip(z, data.size()).size(), data.size());

  // A bomb: 32 MiB of zeros in well under 1 MiB stops at the limit.
  const auto bomb = cluster::gzip(std::string(32 * 1024 * 1024, '\0'));
  ASSERT_LT(bomb.size(), 1024u * 1024u);
  EXPECT_THROW(cluster::gunzip(bomb, 1024 * 1024), std::runtime_error);
}

}  // namespace
