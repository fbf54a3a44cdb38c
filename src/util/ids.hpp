#pragma once
// Identifiers and timestamps shared by every resource.

#include <cstdint>
#include <string>
#include <string_view>

namespace ok::util {

// A random (version 4) UUID, lower-case, from the OS CSPRNG.
std::string new_uuid();

// Milliseconds since the Unix epoch, the unit every stored timestamp uses.
std::int64_t now_ms();

// Seconds since the Unix epoch (data-plane nodes and their pings are kept in seconds, as Konnect shows them).
std::int64_t now_seconds();

// 2026-01-02T03:04:05.678Z, the one timestamp format of the platform APIs.
std::string format_rfc3339_ms(std::int64_t epoch_ms);

// Parses an RFC 3339 date-time into epoch milliseconds; false if it is not one.
bool parse_rfc3339(std::string_view text, std::int64_t& epoch_ms);

}  // namespace ok::util

namespace ok::util {

// ASCII lower-case (ids and other case-insensitive tokens).
std::string to_lower(std::string_view text);

// Base64url without padding, for opaque cursors.
std::string base64url_encode(std::string_view data);
// False when `text` is not base64url.
bool base64url_decode(std::string_view text, std::string& out);

}  // namespace ok::util
