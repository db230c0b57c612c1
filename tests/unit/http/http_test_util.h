// Helpers shared by the http unit tests: readable raw bytes in failure messages, heads with a
// given number of fields.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace turnpike::http::testing_util {

// Large enough for every head in the tables; the size-limit tests pass their own limit.
inline constexpr std::size_t kMaxHead = 64 * 1024;

// "GET / HTTP/1.1\r\n" -> "GET / HTTP/1.1\\r\\n": failure messages show every byte.
inline std::string escape(std::string_view raw) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    switch (c) {
      case '\r': out += "\\r"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\\': out += "\\\\"; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

// `count` lines "X-F<i>: v<i>\r\n".
inline std::string filler_fields(std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) {
    out += "X-F" + std::to_string(i) + ": v" + std::to_string(i) + "\r\n";
  }
  return out;
}

}  // namespace turnpike::http::testing_util
