// JSON string escaping (see json_string.h).
#include "text/json_string.h"

#include <cstdint>
#include <cstring>

namespace turnpike::text {
namespace {

constexpr char kHex[] = "0123456789abcdef";

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](std::size_t k) { return k < s.size() && (at(k) & 0xC0) == 0x80; };
  unsigned char c = at(i);
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && at(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && at(i + 1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && at(i + 1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && at(i + 1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

namespace {

// Printable ASCII other than '"' and '\\' is copied as it is.
struct Plain {
  bool byte[256];
  constexpr Plain() : byte() {
    for (int c = 0x20; c < 0x7f; ++c) byte[c] = c != '"' && c != '\\';
  }
};
constexpr Plain kPlain;

}  // namespace

namespace {

// Eight bytes at a time: true when none needs escaping (no control byte, DEL, '"', '\\' or byte
// above 0x7f) -- the common case for log fields.
bool plain_word(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  auto has_below = [&](uint64_t x, uint64_t n) { return (x - kOnes * n) & ~x & kHigh; };
  auto has_byte = [&](uint64_t x, uint64_t b) {
    uint64_t y = x ^ (kOnes * b);
    return (y - kOnes) & ~y & kHigh;
  };
  return !(has_below(w, 0x20) | (w & kHigh) | has_byte(w, '"') | has_byte(w, '\\') |
           has_byte(w, 0x7f));
}

}  // namespace

char* write_json_escaped(char* out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if (plain_word(w)) {
        std::memcpy(out, p, 8);
        out += 8;
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (kPlain.byte[c]) {
      *out++ = static_cast<char>(c);
      ++p;
      continue;
    }
    if (c < 0x80) {
      *out++ = '\\';
      switch (c) {
        case '"': *out++ = '"'; break;
        case '\\': *out++ = '\\'; break;
        case '\n': *out++ = 'n'; break;
        case '\r': *out++ = 'r'; break;
        case '\t': *out++ = 't'; break;
        default:
          *out++ = 'u';
          *out++ = '0';
          *out++ = '0';
          *out++ = kHex[c >> 4];
          *out++ = kHex[c & 15];
      }
      ++p;
      continue;
    }
    std::size_t i = p - reinterpret_cast<const unsigned char*>(s.data());
    std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      *out++ = '\\';
      *out++ = 'u';
      *out++ = '0';
      *out++ = '0';
      *out++ = kHex[c >> 4];
      *out++ = kHex[c & 15];
      ++p;
    } else {
      for (std::size_t k = 0; k < n; ++k) *out++ = static_cast<char>(p[k]);
      p += n;
    }
  }
  return out;
}

void append_json_escaped(std::string& out, std::string_view s) {
  std::size_t at = out.size();
  out.resize(at + escaped_bound(s.size()));
  char* end = write_json_escaped(out.data() + at, s);
  out.resize(end - out.data());
}

}  // namespace turnpike::text
