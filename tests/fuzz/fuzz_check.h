// What the fuzz targets share: the input as text, and a check that aborts with a message when an
// invariant does not hold (libFuzzer and the replay runner both report an abort as a crash).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace turnpike::fuzz {

inline std::string_view as_text(const uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

inline void check(bool holds, const char* invariant) {
  if (holds) return;
  std::fprintf(stderr, "fuzz check failed: %s\n", invariant);
  std::abort();
}

}  // namespace turnpike::fuzz
