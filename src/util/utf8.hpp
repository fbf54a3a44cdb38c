#pragma once
// UTF-8 checks for text that arrives as bytes (bodies, percent-decoded paths and queries).

#include <cstddef>
#include <string_view>

namespace ok::util {

// True when `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing past U+10FFFF).
bool is_utf8(std::string_view text);

// Characters in `text`, or its bytes when it is not UTF-8.
std::size_t utf8_length(std::string_view text);

}  // namespace ok::util
