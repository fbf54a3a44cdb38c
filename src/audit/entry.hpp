#pragma once
// One audit entry and the three forms a webhook receives it in (Konnect's audit-logs docs,
// FACTS.md h.1): CEF lines, JSON objects, and CPS (the JSON object wrapped as {"event": …}),
// each signed with Ed25519 in `sig`, base64url without padding.
//
// What is signed, so that a receiver can check it (docs/AUDIT.md):
// - CEF: the line with " sig=<value>" removed (Konnect's rule).
// - JSON and CPS: the event object without `sig`, serialized compactly with its keys sorted
//   and non-ASCII characters as UTF-8 (Python: json.dumps(event, sort_keys=True,
//   separators=(",", ":"), ensure_ascii=False)). The spec does not say how Konnect serializes
//   it; a sorted compact form is one a receiver can rebuild from the parsed object.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/ed25519.hpp"

#include <boost/json/object.hpp>

namespace ok::audit {

enum class Format { cef, json, cps };
std::optional<Format> parse_format(std::string_view name);

struct Entry {
  // An API request (Konnect's access event, `Ingress`), or a failed authentication.
  enum class Kind { access, authentication };
  Kind kind = Kind::access;
  std::int64_t ts_ms = 0;
  std::string org_id;          // empty for a token no organization owns
  std::string principal_id;    // the user or system account; empty when unauthenticated
  std::string principal_kind;  // "user", "system_account"
  std::string token_id;        // the token's id, never the token
  std::string client_ip;
  std::string user_agent;
  std::string method;
  std::string path_template;  // "/v2/control-planes/{controlPlaneId}"
  std::string path;           // as requested, without the query
  std::string query;
  unsigned status = 0;
  std::uint64_t trace_id = 0;  // the answer's `instance` is kong:trace:<trace_id>
  std::string entity_id;       // the entity a write touched, when the path names it
  // Authentication events: Konnect's outcome (SUCCESS, NOT_FOUND, TOKEN_EXPIRED, INVALID) and
  // token type (PAT, SPAT, INVALID).
  std::string outcome;
  std::string auth_type;
};

// Konnect's severity: access 1, 6 for 401/403, 10 for 5xx; authentication 0 on success, 1 for
// a credential failure, 7 for anything else.
int severity(const Entry& entry);

// The event as a JSON object (JSON format's fields; CPS wraps it), without `sig`.
boost::json::object to_json(const Entry& entry);
// The CEF line without `sig`.
std::string to_cef(const Entry& entry);

// The signed entry as the receiver gets it: one line of CEF, or one JSON document (no newline).
std::string render_signed(const Entry& entry, Format format, const crypto::Ed25519Signer& signer);

// The same fields, borrowed from the request: what the request path encodes without copying.
struct EntryView {
  Entry::Kind kind = Entry::Kind::access;
  std::int64_t ts_ms = 0;
  std::string_view org_id, principal_id, principal_kind, token_id, client_ip, user_agent, method, path_template, path,
      query;
  unsigned status = 0;
  std::uint64_t trace_id = 0;
  std::string_view entity_id, outcome, auth_type;
};
EntryView view_of(const Entry& entry);

// The entry as stored (store::AuditRecord::entry) and read back: a JSON array of its fields in
// declaration order but for the organization and the time, which the record holds; always valid JSON (bytes that are
// not UTF-8 become U+FFFD). Not a delivery format, so that rendering (and signing, with whatever key is active at
// delivery) happens once per delivery, not on the request path. encode_into appends it to `out`.
void encode_into(std::string& out, const EntryView& entry);
std::string encode(const Entry& entry);
// The entry of a record (its organization and time given). Throws std::invalid_argument for
// text encode() did not write.
Entry decode(std::string_view text, std::string_view org_id, std::int64_t ts_ms);

// What the signature covers for a JSON event (see above).
std::string canonical_json(const boost::json::object& event);

}  // namespace ok::audit
