#include "cluster/payload.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <zlib.h>
#include <boost/json.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>
#include <vector>

namespace ok::cluster {
namespace {

namespace bj = boost::json;

// Streams a canonical form of a JSON value into an MD5 digest: strings raw, numbers and
// literals as serialized, arrays and objects with explicit delimiters, object keys sorted. The
// delimiters make the form unambiguous (["a;b"] and ["a","b"] differ), which is all a hash that
// must move whenever the content does needs.
class CanonicalDigest {
 public:
  CanonicalDigest() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~CanonicalDigest() { EVP_MD_CTX_free(ctx_); }
  CanonicalDigest(const CanonicalDigest&) = delete;
  CanonicalDigest& operator=(const CanonicalDigest&) = delete;

  void add(const bj::value& v) {
    switch (v.kind()) {
      case bj::kind::null:
        put("/null/");
        break;
      case bj::kind::string:
        put("\"");
        put_escaped(v.get_string());
        put("\"");
        break;
      case bj::kind::array:
        put("[");
        for (const auto& item : v.get_array()) {
          add(item);
          put(";");
        }
        put("]");
        break;
      case bj::kind::object:
        add_object(v.get_object());
        break;
      case bj::kind::int64:
        fmt::format_to(std::back_inserter(buffer_), "{}", v.get_int64());
        flush_if_full();
        break;
      default:
        put(bj::serialize(v));
    }
  }

  // An object's members, keys sorted, leaving out those `skip` names: the same digest as the
  // object without them, without copying the rest.
  template <typename Skip = bool (*)(std::string_view)>
  void add_object(
      const bj::object& o, Skip skip = [](std::string_view) { return false; }) {
    std::vector<const bj::key_value_pair*> members;
    members.reserve(o.size());
    for (const auto& kv : o) {
      if (!skip(kv.key())) members.push_back(&kv);
    }
    std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) { return a->key() < b->key(); });
    put("{");
    for (const auto* kv : members) {
      put_escaped(kv->key());
      put(":");
      add(kv->value());
      put(";");
    }
    put("}");
  }

  std::string hex() {
    flush();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_, digest, &size);
    std::string out;
    out.reserve(size * 2);
    for (unsigned i = 0; i < size; ++i) out += fmt::format("{:02x}", digest[i]);
    return out;
  }

 private:
  // The canonical form is made of many tiny pieces: they reach the digest in 16 KiB chunks
  // (one EVP call per piece cost more than the hashing itself).
  void put(std::string_view s) {
    buffer_.append(s);
    flush_if_full();
  }
  void flush_if_full() {
    if (buffer_.size() >= 16 * 1024) flush();
  }
  void flush() {
    EVP_DigestUpdate(ctx_, buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  // Quotes and backslashes escaped, so that a string cannot imitate a delimiter.
  void put_escaped(std::string_view s) {
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '"' || s[i] == '\\' || s[i] == ':' || s[i] == ';') {
        put(s.substr(start, i - start));
        const char escaped[2] = {'\\', s[i]};
        put(std::string_view(escaped, 2));
        start = i + 1;
      }
    }
    put(s.substr(start));
  }
  EVP_MD_CTX* ctx_;
  std::string buffer_;
};

std::string md5_hex(std::string_view s) {
  CanonicalDigest d;
  d.add(bj::string(s));
  return d.hex();
}

}  // namespace

std::string section_hash(const bj::value* value) {
  if (!value || value->is_null() || (value->is_array() && value->get_array().empty())) return kEmptyHash;
  CanonicalDigest d;
  d.add(*value);
  return d.hex();
}

std::shared_ptr<Payload> make_payload(const bj::object& config_table, double timestamp) {
  auto payload = std::make_shared<Payload>();
  auto& h = payload->hashes;
  h.routes = section_hash(config_table.if_contains("routes"));
  h.services = section_hash(config_table.if_contains("services"));
  h.plugins = section_hash(config_table.if_contains("plugins"));
  h.upstreams = section_hash(config_table.if_contains("upstreams"));
  h.targets = section_hash(config_table.if_contains("targets"));
  // Everything else (consumers, credentials, certificates …) moves only the overall hash.
  CanonicalDigest rest;
  rest.add_object(config_table, [](std::string_view key) {
    return key == "routes" || key == "services" || key == "plugins" || key == "upstreams" || key == "targets";
  });
  const auto rest_hash = rest.hex();
  h.config = md5_hex(h.routes + h.services + h.plugins + h.upstreams + h.targets + rest_hash);
  payload->config_hash = h.config;

  if (const auto* plugins = config_table.if_contains("plugins"); plugins && plugins->is_array()) {
    for (const auto& p : plugins->get_array()) {
      if (const auto* name = p.is_object() ? p.get_object().if_contains("name") : nullptr; name && name->is_string()) {
        payload->plugins.emplace(name->get_string());
      }
    }
  }
  for (const auto& kv : config_table) {
    if (kv.value().is_array()) payload->entities += kv.value().get_array().size();
  }

  // The message is written around the table rather than built as an object holding it: a copy
  // of a 10 000-entity table cost more than serializing it.
  const bj::object hashes{{"config", h.config},   {"routes", h.routes},       {"services", h.services},
                          {"plugins", h.plugins}, {"upstreams", h.upstreams}, {"targets", h.targets}};
  std::string json = R"({"type":"reconfigure","timestamp":)";
  json += bj::serialize(bj::value(timestamp));
  json += R"(,"config_table":)";
  json += bj::serialize(config_table);
  json += R"(,"config_hash":)";
  json += bj::serialize(bj::value(h.config));
  json += R"(,"hashes":)";
  json += bj::serialize(hashes);
  json += '}';
  payload->json_bytes = json.size();
  payload->frame = gzip(json);
  payload->rendered_at = static_cast<std::int64_t>(timestamp);
  return payload;
}

std::string gzip(std::string_view data, int level) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer rather than zlib's.
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("gzip: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&z, data.size()));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw std::runtime_error("gzip: deflate failed");
  out.resize(z.total_out);
  return out;
}

std::string gunzip(std::string_view data, std::size_t limit) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("gunzip: inflateInit2 failed");
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      throw std::runtime_error("gunzip: corrupt input");
    }
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > limit) {
      inflateEnd(&z);
      throw std::runtime_error("gunzip: output over the limit");
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      throw std::runtime_error("gunzip: truncated input");
    }
  }
  inflateEnd(&z);
  return out;
}

}  // namespace ok::cluster
