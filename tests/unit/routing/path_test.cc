// normalize_path: the table of SPEC §2.1 normalizations and rejections.
#include "routing/path.h"

#include <gtest/gtest.h>

#include <string>

#include "test_names.h"

namespace turnpike::routing {
namespace {

struct PathCase {
  std::string raw;
  PathStatus status;
  std::string normalized;  // when kOk
};

void PrintTo(const PathCase& c, std::ostream* os) { *os << '"' << c.raw << '"'; }

class NormalizePathTest : public testing::TestWithParam<PathCase> {};

TEST_P(NormalizePathTest, Normalizes) {
  const PathCase& c = GetParam();
  std::string out = "garbage from a previous request";
  EXPECT_EQ(normalize_path(c.raw, out), c.status) << to_string(normalize_path(c.raw, out));
  if (c.status == PathStatus::kOk) {
    EXPECT_EQ(out, c.normalized);
  } else {
    EXPECT_EQ(out, "");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, NormalizePathTest,
    testing::Values(
        // Already normal.
        PathCase{"/", PathStatus::kOk, "/"}, PathCase{"/a/b", PathStatus::kOk, "/a/b"},
        PathCase{"/a b;c=d,e", PathStatus::kOk, "/a b;c=d,e"},
        // Trailing '/' kept.
        PathCase{"/a/b/", PathStatus::kOk, "/a/b/"},
        // "//" merged.
        PathCase{"//", PathStatus::kOk, "/"}, PathCase{"/a//b", PathStatus::kOk, "/a/b"},
        PathCase{"///a///b///", PathStatus::kOk, "/a/b/"},
        // Dot segments.
        PathCase{"/.", PathStatus::kOk, "/"}, PathCase{"/a/./b", PathStatus::kOk, "/a/b"},
        PathCase{"/a/.", PathStatus::kOk, "/a/"}, PathCase{"/a/..", PathStatus::kOk, "/"},
        PathCase{"/a/b/..", PathStatus::kOk, "/a/"}, PathCase{"/a/b/../c", PathStatus::kOk, "/a/c"},
        PathCase{"/a/b/../../c/", PathStatus::kOk, "/c/"},
        PathCase{"/a//..//b", PathStatus::kOk, "/b"}, PathCase{"/...", PathStatus::kOk, "/..."},
        PathCase{"/..a/.b", PathStatus::kOk, "/..a/.b"},
        // Unreserved characters decoded, whatever the case of the hex.
        PathCase{"/%41%62%7e%7E%2D%2e%5f%30", PathStatus::kOk, "/Ab~~-._0"},
        // Dot segments are resolved after decoding.
        PathCase{"/a/%2e%2E/b", PathStatus::kOk, "/b"},
        PathCase{"/a/.%2e/b", PathStatus::kOk, "/b"}, PathCase{"/a/%2e/b", PathStatus::kOk, "/a/b"},
        // Other escapes kept, hex upper-cased.
        PathCase{"/%3a%3F%25%20", PathStatus::kOk, "/%3A%3F%25%20"},
        PathCase{"/caf%c3%a9", PathStatus::kOk, "/caf%C3%A9"},
        PathCase{"/%25%32%66", PathStatus::kOk, "/%252f"},  // %25 is '%': not decoded, no %2F
        // Rejections.
        PathCase{"", PathStatus::kNotOrigin, ""}, PathCase{"a/b", PathStatus::kNotOrigin, ""},
        PathCase{"*", PathStatus::kNotOrigin, ""},
        PathCase{"http://x/a", PathStatus::kNotOrigin, ""},
        PathCase{"/..", PathStatus::kClimbsAboveRoot, ""},
        PathCase{"/../a", PathStatus::kClimbsAboveRoot, ""},
        PathCase{"/a/../..", PathStatus::kClimbsAboveRoot, ""},
        PathCase{"/%2e%2e/", PathStatus::kClimbsAboveRoot, ""},
        PathCase{"/a/%2E%2e/%2e./x", PathStatus::kClimbsAboveRoot, ""},
        PathCase{"/a%2Fb", PathStatus::kEncodedSlash, ""},
        PathCase{"/a%2fb", PathStatus::kEncodedSlash, ""},
        PathCase{"/a%5Cb", PathStatus::kEncodedSlash, ""},
        PathCase{"/a%5cb", PathStatus::kEncodedSlash, ""},
        PathCase{"/a\\..\\b", PathStatus::kEncodedSlash, ""},
        PathCase{std::string("/a\0b", 4), PathStatus::kControlChar, ""},
        PathCase{"/a\x01", PathStatus::kControlChar, ""},
        PathCase{"/a\tb", PathStatus::kControlChar, ""},
        PathCase{"/a\r\nb", PathStatus::kControlChar, ""},
        PathCase{"/a\x7f", PathStatus::kControlChar, ""},
        PathCase{"/a%00", PathStatus::kControlChar, ""},
        PathCase{"/a%0a", PathStatus::kControlChar, ""},
        PathCase{"/a%1F", PathStatus::kControlChar, ""},
        PathCase{"/a%7f", PathStatus::kControlChar, ""},
        PathCase{"/a%", PathStatus::kBadEncoding, ""},
        PathCase{"/a%4", PathStatus::kBadEncoding, ""},
        PathCase{"/a%zz", PathStatus::kBadEncoding, ""},
        PathCase{"/a%4g/b", PathStatus::kBadEncoding, ""},
        PathCase{"/a%%41", PathStatus::kBadEncoding, ""}),
    [](const testing::TestParamInfo<PathCase>& info) {
      return test_names::indexed(info.param.raw, info.index);
    });

TEST(NormalizePath, ReusesTheOutputBuffer) {
  std::string out;
  out.reserve(64);
  const char* const data = out.data();
  ASSERT_EQ(normalize_path("/a/./b/%7euser//x/../y", out), PathStatus::kOk);
  EXPECT_EQ(out, "/a/b/~user/y");
  EXPECT_EQ(out.data(), data);  // no reallocation: the capacity sufficed
}

TEST(NormalizePath, IsIdempotent) {
  for (const char* raw : {"/a/./b/", "/%7e/%2e%2e/x%3a", "//a//b//", "/a/b/../c/."}) {
    std::string once;
    std::string twice;
    ASSERT_EQ(normalize_path(raw, once), PathStatus::kOk) << raw;
    ASSERT_EQ(normalize_path(once, twice), PathStatus::kOk) << raw;
    EXPECT_EQ(once, twice) << raw;
  }
}

TEST(NormalizePath, EveryStatusHasAMessage) {
  for (PathStatus status :
       {PathStatus::kOk, PathStatus::kNotOrigin, PathStatus::kClimbsAboveRoot,
        PathStatus::kEncodedSlash, PathStatus::kControlChar, PathStatus::kBadEncoding}) {
    EXPECT_STRNE(to_string(status), "unknown path status");
  }
}

}  // namespace
}  // namespace turnpike::routing
