// JSON string escaping: always valid JSON, UTF-8 kept, other bytes as \u00XX.
#include "text/json_string.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace turnpike::text {
namespace {

std::string escaped(std::string_view s) {
  std::string out;
  append_json_escaped(out, s);
  return out;
}

struct Case {
  std::string input;
  std::string expected;
};

class JsonStringTest : public testing::TestWithParam<Case> {};

TEST_P(JsonStringTest, Escapes) { EXPECT_EQ(escaped(GetParam().input), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    Table, JsonStringTest,
    testing::Values(
        Case{"", ""}, Case{"plain text", "plain text"},
        Case{"exactly8", "exactly8"}, Case{"seventeen chars!!", "seventeen chars!!"},
        Case{"a\"b", "a\\\"b"}, Case{"back\\slash", "back\\\\slash"},
        Case{"line\nbreak\r\ttab", "line\\nbreak\\r\\ttab"},
        Case{std::string("nul\0x", 5), "nul\\u0000x"}, Case{"del\x7f", "del\\u007f"},
        Case{"bell\x07 in the middle of a long run", "bell\\u0007 in the middle of a long run"},
        Case{"caf\xc3\xa9", "caf\xc3\xa9"},                  // valid 2-byte UTF-8 kept
        Case{"\xe2\x82\xac euro", "\xe2\x82\xac euro"},       // 3-byte
        Case{"\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"},       // 4-byte
        Case{"caf\xe9", "caf\\u00e9"},                        // Latin-1 byte: escaped
        Case{"\xc0\xaf", "\\u00c0\\u00af"},                   // overlong '/'
        Case{"\xed\xa0\x80", "\\u00ed\\u00a0\\u0080"},        // surrogate
        Case{"\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080"},  // above U+10FFFF
        Case{"\xe2\x82", "\\u00e2\\u0082"},                   // truncated
        Case{"12345678\"", "12345678\\\""}));                 // quote right after a plain word

TEST(JsonString, AlwaysParsesBackToTheInputOrItsLatin1Reading) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::string text = "\"" + escaped(all) + "\"";
  nlohmann::json parsed = nlohmann::json::parse(text);  // throws if not valid JSON
  EXPECT_EQ(parsed.get<std::string>().size() > all.size() - 128, true);
}

TEST(JsonString, RawWriterStaysWithinItsBound) {
  std::string input(100, '\x01');
  std::string buffer(escaped_bound(input.size()) + 1, '#');
  char* end = write_json_escaped(buffer.data(), input);
  EXPECT_LE(static_cast<std::size_t>(end - buffer.data()), escaped_bound(input.size()));
  EXPECT_EQ(buffer.back(), '#');
}

}  // namespace
}  // namespace turnpike::text
