#pragma once
// UTF-8 checks for text that arrives as bytes (bodies, percent-decoded paths and queries).

#include <cstddef>
#include <string>
#include <string_view>

namespace ok::util {

// The length of the well-formed UTF-8 sequence at text[i], or 0 when there is none.
std::size_t utf8_sequence_at(std::string_view text, std::size_t i);

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool is_utf8(std::string_view text);

// `text` as a JSON string, quotes included, appended to `out`: `"` and `\` escaped, control
// characters as \u00XX, and each byte that starts no well-formed UTF-8 sequence as U+FFFD, so
// that the result always parses (a header may carry any byte).
void append_json_string(std::string& out, std::string_view text);

// Characters in `text`, or its bytes when it is not UTF-8.
std::size_t utf8_length(std::string_view text);

}  // namespace ok::util
