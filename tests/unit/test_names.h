// Names for parameterized test cases. gtest allows only [A-Za-z0-9_] in them and ctest shows them
// (gtest_discover_tests ... NO_PRETTY_VALUES), so a case is named for what it holds, never by its
// raw bytes: "content-length" -> content_length, "caf\xe9" -> caf_xe9.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace turnpike::test_names {

// Letters and digits kept, a run of other printable characters -> '_', any other byte -> x<hex>;
// at most `max` characters; "empty" for nothing.
inline std::string identifier(std::string_view text, std::size_t max = 40) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  auto separate = [&out] {
    if (!out.empty() && out.back() != '_') out += '_';
  };
  for (unsigned char c : text) {
    if (out.size() >= max) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      out += static_cast<char>(c);
    } else if (c > 0x20 && c < 0x7f) {
      separate();
    } else {
      separate();
      out += 'x';
      out += kHex[c >> 4];
      out += kHex[c & 15];
      out += '_';
    }
  }
  if (out.size() > max) out.resize(max);
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "empty" : out;
}

// identifier(text) then the case's index: unique even when two texts read alike.
inline std::string indexed(std::string_view text, std::size_t index) {
  return identifier(text) + "_" + std::to_string(index);
}

}  // namespace turnpike::test_names
