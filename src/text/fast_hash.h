// A hash for short strings (path segments, host names, rate limit keys): eight bytes per
// multiply, inlined, where std::hash makes an out-of-line call to a byte-oriented murmur.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace turnpike::text {

inline uint64_t fast_hash(std::string_view text, uint64_t seed = 0) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  auto mix = [](uint64_t x) {
    x *= kMul;
    return x ^ (x >> 29);
  };
  uint64_t h = mix(seed ^ (text.size() * kMul));
  const char* p = text.data();
  size_t n = text.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    h = mix(h ^ word) + 0x632BE59BD9B4E019ull;
  }
  if (n > 0) {
    uint64_t word = 0;
    std::memcpy(&word, p, n);
    h = mix(h ^ word);
  }
  return mix(h ^ (h >> 31));
}

}  // namespace turnpike::text
