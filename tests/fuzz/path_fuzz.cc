// Fuzz target: request path normalization and route path patterns (SPEC §2.1). A path that
// normalizes is absolute, has no "//", "." or ".." segment, no control byte or backslash (raw or
// escaped), no escaped '/' or unreserved character, and normalizes to itself. The same bytes as
// a route pattern either parse or get an error, and a pattern that parses matches or not
// without fault.
#include <cctype>
#include <string>

#include "fuzz_check.h"
#include "routing/path.h"
#include "routing/pattern.h"

namespace {

using namespace turnpike;
using fuzz::check;

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower-case hex is upper-cased by normalization
}

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

void check_normalized(const std::string& path) {
  check(!path.empty() && path.front() == '/', "a normalized path starts with '/'");
  check(path.find("//") == std::string::npos, "no empty segment");
  for (std::string_view dot : {"/./", "/../"}) {
    check(path.find(dot) == std::string::npos, "no dot segment");
  }
  for (std::string_view end : {"/.", "/.."}) {
    check(!(path.size() >= end.size() && path.ends_with(end)), "no trailing dot segment");
  }
  for (std::size_t i = 0; i < path.size(); ++i) {
    const auto c = static_cast<unsigned char>(path[i]);
    check(c >= 0x20 && c != 0x7f && c != '\\', "no control byte or backslash");
    if (c != '%') continue;
    check(i + 2 < path.size() && hex(path[i + 1]) >= 0 && hex(path[i + 2]) >= 0,
          "an escape is '%' and two upper-case hex digits");
    const int byte = hex(path[i + 1]) * 16 + hex(path[i + 2]);
    check(byte >= 0x20 && byte != 0x7f && byte != '/' && byte != '\\',
          "no escaped control byte, '/' or backslash");
    check(!unreserved(static_cast<unsigned char>(byte)), "no escaped unreserved character");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view raw = fuzz::as_text(data, size);
  std::string path;
  if (routing::normalize_path(raw, path) == routing::PathStatus::kOk) {
    check_normalized(path);
    std::string again;
    check(routing::normalize_path(path, again) == routing::PathStatus::kOk && again == path,
          "normalization is idempotent");
  }
  routing::Pattern pattern;
  std::string error;
  if (routing::parse_pattern(raw, pattern, error)) {
    check(error.empty() && routing::pattern_error(raw).empty(), "pattern_error agrees");
    routing::PatternMatch match;
    if (!path.empty() && routing::match_pattern(pattern, path, match)) {
      check(match.prefix_length <= path.size(), "the stripped prefix is inside the path");
    }
  } else {
    check(!error.empty(), "a refused pattern says why");
  }
  return 0;
}
