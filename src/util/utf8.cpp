#include "util/utf8.hpp"

#include <string>

namespace ok::util {

std::size_t utf8_sequence_at(std::string_view text, std::size_t i) {
  const auto b = static_cast<unsigned char>(text[i]);
  const std::size_t len = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
  if (len == 0 || i + len > text.size() || (len == 2 && b < 0xC2)) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  if (len >= 3) {
    const auto b1 = static_cast<unsigned char>(text[i + 1]);
    if ((len == 3 && b == 0xE0 && b1 < 0xA0) || (len == 3 && b == 0xED && b1 >= 0xA0) ||
        (len == 4 && b == 0xF0 && b1 < 0x90) || (len == 4 && (b > 0xF4 || (b == 0xF4 && b1 >= 0x90)))) {
      return 0;
    }
  }
  return len;
}

bool is_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto len = utf8_sequence_at(text, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    // The run of characters that go out as they are, appended at once.
    std::size_t run = i;
    while (run < text.size()) {
      const auto c = static_cast<unsigned char>(text[run]);
      if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) break;
      ++run;
    }
    out.append(text.data() + i, run - i);
    i = run;
    if (i == text.size()) break;
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
      ++i;
    } else if (const auto len = utf8_sequence_at(text, i); len > 0) {
      out.append(text.data() + i, len);
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out.push_back('"');
}

std::size_t utf8_length(std::string_view text) {
  std::size_t n = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    if (b >= 0x80) {
      if ((b & 0xE0) == 0xC0) {
        extra = 1;
      } else if ((b & 0xF0) == 0xE0) {
        extra = 2;
      } else if ((b & 0xF8) == 0xF0) {
        extra = 3;
      } else {
        return text.size();  // not UTF-8: count bytes
      }
    }
    if (i + extra >= text.size() && extra > 0) return text.size();  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return text.size();
    }
    i += extra + 1;
    ++n;
  }
  return n;
}

}  // namespace ok::util
