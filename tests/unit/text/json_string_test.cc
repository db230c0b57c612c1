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
  std::string name;
  std::string input;
  std::string expected;
};

class JsonStringTest : public testing::TestWithParam<Case> {};

TEST_P(JsonStringTest, Escapes) { EXPECT_EQ(escaped(GetParam().input), GetParam().expected); }

INSTANTIATE_TEST_SUITE_P(
    Table, JsonStringTest,
    testing::Values(
        Case{"empty", "", ""}, Case{"plain", "plain text", "plain text"},
        Case{"one_word", "exactly8", "exactly8"},
        Case{"two_words", "seventeen chars!!", "seventeen chars!!"},
        Case{"quote", "a\"b", "a\\\"b"}, Case{"backslash", "back\\slash", "back\\\\slash"},
        Case{"newline_cr_tab", "line\nbreak\r\ttab", "line\\nbreak\\r\\ttab"},
        Case{"nul", std::string("nul\0x", 5), "nul\\u0000x"},
        Case{"del", "del\x7f", "del\\u007f"},
        Case{"control_in_long_run", "bell\x07 in the middle of a long run",
             "bell\\u0007 in the middle of a long run"},
        Case{"utf8_2_bytes", "caf\xc3\xa9", "caf\xc3\xa9"},             // kept
        Case{"utf8_3_bytes", "\xe2\x82\xac euro", "\xe2\x82\xac euro"},
        Case{"utf8_4_bytes", "\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"},
        Case{"latin1", "caf\xe9", "caf\\u00e9"},                         // escaped
        Case{"utf8_overlong", "\xc0\xaf", "\\u00c0\\u00af"},            // overlong '/'
        Case{"utf8_surrogate", "\xed\xa0\x80", "\\u00ed\\u00a0\\u0080"},
        Case{"utf8_above_max", "\xf4\x90\x80\x80", "\\u00f4\\u0090\\u0080\\u0080"},
        Case{"utf8_truncated", "\xe2\x82", "\\u00e2\\u0082"},
        Case{"quote_after_word", "12345678\"", "12345678\\\""}),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

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
