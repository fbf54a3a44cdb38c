#include "audit/entry.hpp"

#include "crypto/ed25519.hpp"
#include "util/ids.hpp"
#include "util/utf8.hpp"

#include <fmt/format.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <stdexcept>

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ok::audit {
namespace {

constexpr std::string_view kVendor = "KongInc";
constexpr std::string_view kProduct = "Konnect";
constexpr std::string_view kVersion = "1.0";

// One extension field, in the order written; an empty string is left out.
struct Field {
  std::string_view key;
  std::variant<std::string, std::int64_t, bool> value;
};

std::vector<Field> fields_of(const Entry& e) {
  std::vector<Field> out;
  auto text = [&](std::string_view key, const std::string& value) {
    if (!value.empty()) out.push_back({key, value});
  };
  out.push_back({"rt", e.ts_ms});
  text("src", e.client_ip);
  text("org_id", e.org_id);
  text("principal_id", e.principal_id);
  text("principal_type", e.principal_kind);
  text("token_id", e.token_id);
  if (e.kind == Entry::Kind::access) {
    text("act", e.method);
    text("request", e.path);
    text("path_template", e.path_template);
    text("query", e.query);
    out.push_back({"status", static_cast<std::int64_t>(e.status)});
    text("entity_id", e.entity_id);
  } else {
    text("act", e.method);
    text("request", e.path);
    out.push_back({"success", e.outcome == "SUCCESS"});
  }
  out.push_back({"trace_id", std::to_string(e.trace_id)});
  text("user_agent", e.user_agent);
  return out;
}

std::string event_class_id(const Entry& e) {
  return e.kind == Entry::Kind::access ? "KongGateway" : "AUTHENTICATION_TYPE_" + e.auth_type;
}

std::string event_name(const Entry& e) {
  return e.kind == Entry::Kind::access ? "Ingress" : "AUTHENTICATION_OUTCOME_" + e.outcome;
}

// CEF: in the header `\` and `|` are escaped; in extension values `\`, `=` and line breaks.
std::string cef_escape(std::string_view s, bool header) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || (header ? c == '|' : c == '=')) {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

// Syslog's time stamp (RFC 3164, UTC): "Apr 14 05:39:08", as Konnect's CEF lines start.
std::string syslog_time(std::int64_t ms) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{} {:>2} {:02}:{:02}:{:02}", kMonths[static_cast<std::size_t>(tm.tm_mon)], tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec);
}

void write_sorted(std::string& out, const boost::json::value& v) {
  if (v.is_object()) {
    std::vector<std::pair<std::string_view, const boost::json::value*>> members;
    for (const auto& [k, value] : v.get_object()) members.emplace_back(k, &value);
    std::sort(members.begin(), members.end());
    out += '{';
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) out += ',';
      out += boost::json::serialize(boost::json::string(members[i].first));
      out += ':';
      write_sorted(out, *members[i].second);
    }
    out += '}';
  } else if (v.is_array()) {
    out += '[';
    bool first = true;
    for (const auto& item : v.get_array()) {
      if (!first) out += ',';
      first = false;
      write_sorted(out, item);
    }
    out += ']';
  } else {
    out += boost::json::serialize(v);
  }
}

std::string signature(const std::string& payload, const crypto::Ed25519Signer& signer) {
  return util::base64url_encode(signer.sign(payload));
}

}  // namespace

std::optional<Format> parse_format(std::string_view name) {
  if (name == "cef") return Format::cef;
  if (name == "json") return Format::json;
  if (name == "cps") return Format::cps;
  return std::nullopt;
}

int severity(const Entry& e) {
  if (e.kind == Entry::Kind::authentication) {
    if (e.outcome == "SUCCESS") return 0;
    if (e.outcome == "NOT_FOUND" || e.outcome == "TOKEN_EXPIRED" || e.outcome == "INVALID") return 1;
    return 7;
  }
  if (e.status >= 500) return 10;
  if (e.status == 401 || e.status == 403) return 6;
  return 1;
}

boost::json::object to_json(const Entry& e) {
  boost::json::object out{{"cef_version", "0"},        {"event_ts", util::format_rfc3339_ms(e.ts_ms)},
                          {"event_vendor", kVendor},   {"event_product", kProduct},
                          {"event_version", kVersion}, {"event_class_id", event_class_id(e)},
                          {"name", event_name(e)},     {"severity", severity(e)}};
  for (const auto& f : fields_of(e)) {
    std::visit([&](const auto& v) { out[f.key] = v; }, f.value);
  }
  return out;
}

std::string to_cef(const Entry& e) {
  std::string line =
      fmt::format("{} konghq.com CEF:0|{}|{}|{}|{}|{}|{}|", syslog_time(e.ts_ms), kVendor, kProduct, kVersion,
                  cef_escape(event_class_id(e), true), cef_escape(event_name(e), true), severity(e));
  bool first = true;
  for (const auto& f : fields_of(e)) {
    if (!first) line += ' ';
    first = false;
    line += f.key;
    line += '=';
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string>) {
            line += cef_escape(v, false);
          } else if constexpr (std::is_same_v<T, bool>) {
            line += v ? "true" : "false";
          } else {
            line += std::to_string(v);
          }
        },
        f.value);
  }
  return line;
}

EntryView view_of(const Entry& e) {
  return {.kind = e.kind,
          .ts_ms = e.ts_ms,
          .org_id = e.org_id,
          .principal_id = e.principal_id,
          .principal_kind = e.principal_kind,
          .token_id = e.token_id,
          .client_ip = e.client_ip,
          .user_agent = e.user_agent,
          .method = e.method,
          .path_template = e.path_template,
          .path = e.path,
          .query = e.query,
          .status = e.status,
          .trace_id = e.trace_id,
          .entity_id = e.entity_id,
          .outcome = e.outcome,
          .auth_type = e.auth_type};
}

// Written by hand, not through boost::json: it runs for every request, and one pass over the
// fields into a reused buffer costs a fraction of building and serializing an array.
void encode_into(std::string& out, const EntryView& e) {
  const auto number = [&out](auto n) {
    char digits[24];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
    out.append(digits, end);
  };
  // The organization and the time are the record's own (store::AuditRecord), not repeated here.
  out += e.kind == Entry::Kind::access ? R"(["access")" : R"(["authentication")";
  for (const auto s : {e.principal_id, e.principal_kind, e.token_id, e.client_ip, e.user_agent, e.method,
                       e.path_template, e.path, e.query}) {
    out.push_back(',');
    util::append_json_string(out, s);
  }
  out.push_back(',');
  number(e.status);
  out.push_back(',');
  number(e.trace_id);
  for (const auto s : {e.entity_id, e.outcome, e.auth_type}) {
    out.push_back(',');
    util::append_json_string(out, s);
  }
  out.push_back(']');
}

std::string encode(const Entry& e) {
  std::string out;
  encode_into(out, view_of(e));
  return out;
}

Entry decode(std::string_view text, std::string_view org_id, std::int64_t ts_ms) {
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(text, ec);
  const auto* a = parsed.if_array();
  if (ec || !a || a->size() != 15) throw std::invalid_argument("not an encoded audit entry");
  try {
    Entry e;
    e.kind = a->at(0).as_string() == "access" ? Entry::Kind::access : Entry::Kind::authentication;
    e.org_id = org_id;
    e.ts_ms = ts_ms;
    std::size_t i = 1;
    for (auto* s : {&e.principal_id, &e.principal_kind, &e.token_id, &e.client_ip, &e.user_agent, &e.method,
                    &e.path_template, &e.path, &e.query}) {
      *s = a->at(i++).as_string();
    }
    e.status = a->at(i++).to_number<unsigned>();
    e.trace_id = a->at(i++).to_number<std::uint64_t>();
    for (auto* s : {&e.entity_id, &e.outcome, &e.auth_type}) *s = a->at(i++).as_string();
    return e;
  } catch (const std::exception&) {
    throw std::invalid_argument("not an encoded audit entry");
  }
}

std::string canonical_json(const boost::json::object& event) {
  std::string out;
  write_sorted(out, event);
  return out;
}

std::string render_signed(const Entry& e, Format format, const crypto::Ed25519Signer& signer) {
  if (format == Format::cef) {
    auto line = to_cef(e);
    const auto sig = signature(line, signer);
    return line + " sig=" + sig;
  }
  auto event = to_json(e);
  event["sig"] = signature(canonical_json(event), signer);
  if (format == Format::cps) return boost::json::serialize(boost::json::object{{"event", std::move(event)}});
  return boost::json::serialize(event);
}

}  // namespace ok::audit
