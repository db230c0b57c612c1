// Request path normalization (SPEC §2.1), one pass over the input writing into `out`.
#include "routing/path.h"

#include <array>
#include <cstdint>

namespace turnpike::routing {
namespace {

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
constexpr std::array<bool, 256> make_unreserved() {
  std::array<bool, 256> table{};
  for (int c = 'A'; c <= 'Z'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = true;
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  table['-'] = table['.'] = table['_'] = table['~'] = true;
  return table;
}
constexpr std::array<bool, 256> kUnreserved = make_unreserved();

constexpr int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

constexpr char kHexUpper[] = "0123456789ABCDEF";

}  // namespace

const char* to_string(PathStatus status) {
  switch (status) {
    case PathStatus::kOk:
      return "ok";
    case PathStatus::kNotOrigin:
      return "path must start with '/'";
    case PathStatus::kClimbsAboveRoot:
      return "path climbs above '/'";
    case PathStatus::kEncodedSlash:
      return "path holds an encoded '/' or a '\\'";
    case PathStatus::kControlChar:
      return "path holds a NUL or control character";
    case PathStatus::kBadEncoding:
      return "'%' not followed by two hex digits";
  }
  return "unknown path status";
}

PathStatus normalize_path(std::string_view raw, std::string& out) {
  out.clear();
  if (raw.empty() || raw[0] != '/') return PathStatus::kNotOrigin;
  // The output is never longer than the input: decoding shrinks, upper-casing keeps the length
  // and dot segments only remove. So one resize up front and plain stores afterwards.
  out.resize(raw.size());
  char* o = out.data();
  size_t n = 0;
  o[n++] = '/';
  const size_t size = raw.size();
  size_t i = 1;
  auto fail = [&out](PathStatus status) {
    out.clear();
    return status;
  };
  // Invariant at the top of each segment: the output ends with '/'.
  while (true) {
    const size_t seg = n;
    while (i < size && raw[i] != '/') {
      const auto c = static_cast<unsigned char>(raw[i]);
      if (c == '%') {
        if (i + 2 >= size) return fail(PathStatus::kBadEncoding);
        const int hi = hex_value(raw[i + 1]);
        const int lo = hex_value(raw[i + 2]);
        if (hi < 0 || lo < 0) return fail(PathStatus::kBadEncoding);
        const auto v = static_cast<unsigned char>(hi * 16 + lo);
        if (v == '/' || v == '\\') return fail(PathStatus::kEncodedSlash);
        if (is_control(v)) return fail(PathStatus::kControlChar);
        if (kUnreserved[v]) {
          o[n++] = static_cast<char>(v);
        } else {
          o[n++] = '%';
          o[n++] = kHexUpper[hi];
          o[n++] = kHexUpper[lo];
        }
        i += 3;
        continue;
      }
      if (is_control(c)) return fail(PathStatus::kControlChar);
      // A raw '\' is a separator to some upstreams (IIS, some frameworks): refusing it keeps
      // "what is routed is what is forwarded" true for them too.
      if (c == '\\') return fail(PathStatus::kEncodedSlash);
      o[n++] = static_cast<char>(c);
      ++i;
    }
    const size_t len = n - seg;
    const bool at_end = i >= size;
    if (len == 1 && o[seg] == '.') {
      n = seg;  // "." : drop it; the output still ends with '/'
    } else if (len == 2 && o[seg] == '.' && o[seg + 1] == '.') {
      if (seg == 1) return fail(PathStatus::kClimbsAboveRoot);
      // Drop the previous segment too: back to just after the '/' that precedes it.
      n = seg - 1;
      while (o[n - 1] != '/') --n;
    } else if (len > 0 && !at_end) {
      o[n++] = '/';
    }
    // len == 0: an empty segment ("//" or the trailing '/'): the '/' is already there.
    if (at_end) break;
    ++i;  // the '/'
  }
  out.resize(n);
  return PathStatus::kOk;
}

}  // namespace turnpike::routing
