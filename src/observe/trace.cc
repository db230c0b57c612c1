// W3C trace context parsing (see trace.h).
#include "observe/trace.h"

#include <algorithm>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace turnpike::observe {
namespace {

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

}  // namespace

bool parse_traceparent(std::string_view v, TraceContext& out) {
  // version "-" trace-id "-" parent-id "-" flags
  if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
                   flags = v.substr(53, 2);
  if (!lower_hex(version) || version == "ff") return false;
  if (version == "00" ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return false;
  if (!lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags)) return false;
  if (all_zero(trace) || all_zero(parent)) return false;
  std::memcpy(out.trace_id.data(), trace.data(), 32);
  std::memcpy(out.parent_id.data(), parent.data(), 16);
  out.flags = static_cast<uint8_t>(hex_digit(flags[0]) * 16 + hex_digit(flags[1]));
  out.continued = true;
  return true;
}

void format_traceparent(const TraceContext& t, char out[55]) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::memcpy(out, "00-", 3);
  std::memcpy(out + 3, t.trace_id.data(), 32);
  out[35] = '-';
  std::memcpy(out + 36, t.span_id.data(), 16);
  out[52] = '-';
  // Only the sampled bit is ours to forward; other flag bits are defined by later versions.
  out[53] = '0';
  out[54] = kHex[t.flags & 1];
}

namespace {
// Sixteen hex digits for the eight bytes of `v`, low byte first and each byte's high digit first
// (the order the traceparent fields are parsed back in). Six of these go into every request's
// ids, so they are made sixteen at a time: the nibbles of the bytes are interleaved, then each
// becomes '0'..'9' or 'a'..'f'.
#if defined(__SSE2__)
void hex16(char* out, uint64_t v) {
  const __m128i low_nibble = _mm_set1_epi8(0x0f);
  __m128i bytes = _mm_cvtsi64_si128(static_cast<long long>(v));
  __m128i high = _mm_and_si128(_mm_srli_epi16(bytes, 4), low_nibble);
  __m128i low = _mm_and_si128(bytes, low_nibble);
  __m128i nibbles = _mm_unpacklo_epi8(high, low);
  __m128i letters = _mm_and_si128(_mm_cmpgt_epi8(nibbles, _mm_set1_epi8(9)),
                                  _mm_set1_epi8('a' - '0' - 10));
  __m128i digits = _mm_add_epi8(_mm_add_epi8(nibbles, _mm_set1_epi8('0')), letters);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), digits);
}
#else
void hex16(char* out, uint64_t v) {
  constexpr char kHex[] = "0123456789abcdef";
  for (int k = 0; k < 8; ++k) {
    unsigned byte = (v >> (8 * k)) & 0xff;
    out[2 * k] = kHex[byte >> 4];
    out[2 * k + 1] = kHex[byte & 15];
  }
}
#endif
}  // namespace

void random_hex(char* out, std::size_t n, uint64_t a, uint64_t b) {
  hex16(out, a);
  if (n >= 32) hex16(out + 16, b);
}

}  // namespace turnpike::observe
