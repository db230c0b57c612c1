// Hex ids: the digits of each byte in order, low byte first, lower-case.
#include "observe/trace.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace turnpike::observe {
namespace {

// The reference: each byte of `v`, low byte first, as two lower-case hex digits.
std::string reference(uint64_t v) {
  std::string s;
  for (int k = 0; k < 8; ++k) {
    char pair[3];
    std::snprintf(pair, sizeof(pair), "%02x", static_cast<unsigned>((v >> (8 * k)) & 0xff));
    s += pair;
  }
  return s;
}

TEST(RandomHexTest, MatchesTheBytewiseReference) {
  const uint64_t values[] = {0, ~0ull, 0x0123456789abcdefull, 0xfedcba9876543210ull,
                             0x0a0b0c0d0e0f1009ull, 0x9999aaaa0000ffffull};
  for (uint64_t a : values) {
    for (uint64_t b : values) {
      char out[32];
      random_hex(out, 32, a, b);
      EXPECT_EQ(std::string(out, 32), reference(a) + reference(b));
      char half[16];
      random_hex(half, 16, a, b);
      EXPECT_EQ(std::string(half, 16), reference(a));
    }
  }
}

TEST(RandomHexTest, EveryByteValue) {
  for (uint64_t byte = 0; byte < 256; ++byte) {
    uint64_t v = byte | (byte << 24) | (byte << 56);
    char out[16];
    random_hex(out, 16, v, 0);
    EXPECT_EQ(std::string(out, 16), reference(v)) << byte;
  }
}

}  // namespace
}  // namespace turnpike::observe
