// HeadScanner on its own: where a head ends, early refusal of bare CR/LF, the size limit, reuse
// after reset(), and empty lines before a request line (the caller skips them).
#include <gtest/gtest.h>

#include <string>

#include "http/parser.h"
#include "http_test_util.h"

namespace turnpike::http {
namespace {

using testing_util::escape;
using testing_util::kMaxHead;

TEST(HeadScannerTest, FindsTheBlankLine) {
  HeadScanner s;
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
  ASSERT_EQ(s.scan(raw, kMaxHead), HeadStatus::kComplete);
  EXPECT_EQ(s.length(), raw.size() - 4);
}

TEST(HeadScannerTest, IncompleteUntilTheBlankLine) {
  HeadScanner s;
  std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n";
  EXPECT_EQ(s.scan(raw, kMaxHead), HeadStatus::kIncomplete);
  raw += "\r";
  EXPECT_EQ(s.scan(raw, kMaxHead), HeadStatus::kIncomplete);
  raw += "\n";
  ASSERT_EQ(s.scan(raw, kMaxHead), HeadStatus::kComplete);
  EXPECT_EQ(s.length(), raw.size());
}

TEST(HeadScannerTest, EmptyInputIsIncomplete) {
  HeadScanner s;
  EXPECT_EQ(s.scan("", kMaxHead), HeadStatus::kIncomplete);
  EXPECT_EQ(s.scan("", 0), HeadStatus::kIncomplete);
}

// A bare CR or LF is refused as soon as the byte after it (or it) arrives, without waiting for a
// terminator that a slowloris client would never send.
struct EarlyCase {
  const char* name;
  std::string prefix;  // refused as soon as it has arrived in full
};

class HeadScannerEarlyTest : public testing::TestWithParam<EarlyCase> {};

TEST_P(HeadScannerEarlyTest, RefusedWithoutATerminator) {
  const EarlyCase& c = GetParam();
  HeadScanner s;
  // Every shorter prefix is merely incomplete...
  for (std::size_t k = 1; k < c.prefix.size(); ++k) {
    ASSERT_EQ(s.scan(std::string_view(c.prefix).substr(0, k), kMaxHead), HeadStatus::kIncomplete)
        << escape(c.prefix.substr(0, k));
  }
  // ...and the whole prefix is refused.
  EXPECT_EQ(s.scan(c.prefix, kMaxHead), HeadStatus::kMalformed) << escape(c.prefix);
  HeadScanner fresh;
  EXPECT_EQ(fresh.scan(c.prefix, kMaxHead), HeadStatus::kMalformed) << escape(c.prefix);
}

INSTANTIATE_TEST_SUITE_P(
    Table, HeadScannerEarlyTest,
    testing::Values(EarlyCase{"LfFirst", "\n"}, EarlyCase{"LfAfterRequestLine", "GET / HTTP/1.1\n"},
                    EarlyCase{"LfInField", "GET / HTTP/1.1\r\nHost: a\n"},
                    EarlyCase{"LfBlankLine", "GET / HTTP/1.1\r\nHost: a\r\n\n"},
                    EarlyCase{"CrThenByte", "GET / HTTP/1.1\rH"},
                    EarlyCase{"CrCr", "GET / HTTP/1.1\r\r"},
                    EarlyCase{"CrInValue", "GET / HTTP/1.1\r\nX-A: a\rb"},
                    EarlyCase{"CrSpaceBlankLine", "GET / HTTP/1.1\r\nHost: a\r\n\r "}),
    [](const testing::TestParamInfo<EarlyCase>& info) { return info.param.name; });

TEST(HeadScannerTest, SizeLimit) {
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";  // 27 bytes
  {
    HeadScanner s;
    ASSERT_EQ(s.scan(raw, raw.size()), HeadStatus::kComplete);
    EXPECT_EQ(s.length(), raw.size());
  }
  {
    HeadScanner s;
    EXPECT_EQ(s.scan(raw, raw.size() - 1), HeadStatus::kTooLarge);
  }
  {
    // Bytes past the head (a body) do not count against it.
    HeadScanner s;
    EXPECT_EQ(s.scan(raw + std::string(100, 'x'), raw.size()), HeadStatus::kComplete);
  }
  {
    // An unfinished head is refused once it exceeds the limit, before its end arrives.
    HeadScanner s;
    std::string partial = "GET / HTTP/1.1\r\nX-Long: " + std::string(100, 'a');
    EXPECT_EQ(s.scan(partial.substr(0, 50), 64), HeadStatus::kIncomplete);
    EXPECT_EQ(s.scan(partial, 64), HeadStatus::kTooLarge);
  }
}

TEST(HeadScannerTest, SizeLimitSameAtEveryArrivalPattern) {
  const std::string raw = "GET /a HTTP/1.1\r\nHost: a\r\nX-B: bbbbbbbb\r\n\r\n";
  for (std::size_t limit : {raw.size() - 1, raw.size(), raw.size() + 1}) {
    HeadScanner whole;
    HeadStatus expected = whole.scan(raw, limit);
    HeadScanner s;
    HeadStatus status = HeadStatus::kIncomplete;
    for (std::size_t k = 1; k <= raw.size() && status == HeadStatus::kIncomplete; ++k) {
      status = s.scan(std::string_view(raw).substr(0, k), limit);
    }
    EXPECT_EQ(status, expected) << "limit " << limit;
  }
}

TEST(HeadScannerTest, ResetStartsOver) {
  HeadScanner s;
  std::string first = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(s.scan(first, kMaxHead), HeadStatus::kComplete);
  s.reset();
  std::string second = "GET /22 HTTP/1.1\r\nHost: a\r\n\r\n";
  ASSERT_EQ(s.scan(second.substr(0, 10), kMaxHead), HeadStatus::kIncomplete);
  ASSERT_EQ(s.scan(second, kMaxHead), HeadStatus::kComplete);
  EXPECT_EQ(s.length(), second.size());
}

// A 1xx response is followed by the real one in the same buffer; the caller consumes the first
// head and resets the scanner.
TEST(HeadScannerTest, InterimResponseThenFinalOne) {
  std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  std::string final_head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  std::string buffer = interim + final_head;
  HeadScanner s;
  ASSERT_EQ(s.scan(buffer, kMaxHead), HeadStatus::kComplete);
  ASSERT_EQ(s.length(), interim.size());
  buffer.erase(0, s.length());
  s.reset();
  ASSERT_EQ(s.scan(buffer, kMaxHead), HeadStatus::kComplete);
  EXPECT_EQ(s.length(), final_head.size());
}

// RFC 9112 §2.2: empty lines before a request line are skipped by the caller (the session); the
// scanner on its own sees them as part of the head.
TEST(HeadScannerTest, LeadingCrlfSeenByTheScannerAlone) {
  const std::string request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  {
    // One empty line: the "head" found includes it, and llhttp skips it when parsing.
    HeadScanner s;
    std::string raw = "\r\n" + request;
    ASSERT_EQ(s.scan(raw, kMaxHead), HeadStatus::kComplete);
    EXPECT_EQ(s.length(), raw.size());
    MessageParser parser(MessageParser::Kind::kRequest);
    RequestHead head;
    ASSERT_EQ(parser.parse_request(raw, head), HeadStatus::kComplete) << parser.error();
    EXPECT_EQ(head.method, "GET");
    EXPECT_EQ(head.headers.size(), 1u);
  }
  {
    // Two empty lines look like an empty head of 4 bytes, which does not parse: this is why
    // the caller skips them first.
    HeadScanner s;
    std::string raw = "\r\n\r\n" + request;
    ASSERT_EQ(s.scan(raw, kMaxHead), HeadStatus::kComplete);
    EXPECT_EQ(s.length(), 4u);
    MessageParser parser(MessageParser::Kind::kRequest);
    RequestHead head;
    EXPECT_EQ(parser.parse_request(std::string_view(raw).substr(0, 4), head),
              HeadStatus::kMalformed);
  }
}

// What the session does: drop leading CRLF pairs, then scan. The result is the request alone,
// whatever the number of empty lines and however the bytes arrive.
TEST(HeadScannerTest, LeadingCrlfSkippedByTheCaller) {
  const std::string request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  for (int empty_lines : {1, 2, 5}) {
    std::string raw;
    for (int i = 0; i < empty_lines; ++i) raw += "\r\n";
    raw += request;
    for (std::size_t split = 1; split < raw.size(); ++split) {
      std::string buffer;
      HeadScanner s;
      HeadStatus status = HeadStatus::kIncomplete;
      for (std::string_view piece : {std::string_view(raw).substr(0, split),
                                     std::string_view(raw).substr(split)}) {
        buffer += piece;
        while (buffer.size() >= 2 && buffer[0] == '\r' && buffer[1] == '\n') buffer.erase(0, 2);
        if (!buffer.empty()) status = s.scan(buffer, kMaxHead);
        if (status != HeadStatus::kIncomplete) break;
      }
      ASSERT_EQ(status, HeadStatus::kComplete) << empty_lines << " lines, split " << split;
      EXPECT_EQ(buffer.substr(0, s.length()), request);
    }
  }
}

}  // namespace
}  // namespace turnpike::http
