// MessageParser::parse_request behind HeadScanner: a table of raw requests -> status, framing,
// keep-alive and field count. Every smuggling shape of SPEC §4 must be kMalformed, and every
// request must give the same result when its bytes arrive split at any boundary.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "http/parser.h"
#include "http_test_util.h"

namespace turnpike::http {
namespace {

using testing_util::escape;
using testing_util::filler_fields;
using testing_util::kMaxHead;
using namespace std::string_literals;

struct RequestCase {
  std::string name;
  std::string raw;
  HeadStatus status;
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  std::size_t fields = 0;
  std::size_t length = 0;  // of the head; 0: all of `raw`
  uint8_t version_minor = 1;
  bool is_head = false;
  bool expect_continue = false;
  bool websocket = false;
};

void PrintTo(const RequestCase& c, std::ostream* os) { *os << c.name << ": " << escape(c.raw); }

RequestCase bad(std::string name, std::string raw) {
  return {.name = std::move(name), .raw = std::move(raw), .status = HeadStatus::kMalformed};
}

std::vector<RequestCase> request_cases() {
  const std::string get = "GET / HTTP/1.1\r\nHost: a\r\n";
  const std::string post = "POST /u HTTP/1.1\r\nHost: a\r\n";
  return {
      // Framing and keep-alive of well-formed requests.
      {.name = "Get11", .raw = get + "\r\n", .status = HeadStatus::kComplete, .fields = 1},
      {.name = "Get11Close",
       .raw = get + "Connection: close\r\n\r\n",
       .status = HeadStatus::kComplete,
       .keep_alive = false,
       .fields = 2},
      {.name = "Get11CloseInTokenList",
       .raw = get + "Connection: Keep-Alive ,\tCLOSE\r\n\r\n",
       .status = HeadStatus::kComplete,
       .keep_alive = false,
       .fields = 2},
      {.name = "Get11KeepAliveToken",
       .raw = get + "Connection: keep-alive\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 2},
      // RFC 9110 §5.3: several Connection lines are one list; "close" in any of them counts.
      {.name = "Get11CloseInSecondConnectionLine",
       .raw = get + "Connection: keep-alive\r\nConnection: close\r\n\r\n",
       .status = HeadStatus::kComplete,
       .keep_alive = false,
       .fields = 3},
      {.name = "Get10NoHost",
       .raw = "GET / HTTP/1.0\r\n\r\n",
       .status = HeadStatus::kComplete,
       .keep_alive = false,
       .version_minor = 0},
      {.name = "Get10KeepAlive",
       .raw = "GET / HTTP/1.0\r\nHost: a\r\nConnection: Keep-Alive\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 2,
       .version_minor = 0},
      // RFC 9112 §9.3: "close" ends the connection whatever the version and other options.
      {.name = "Get10KeepAliveAndClose",
       .raw = "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
       .status = HeadStatus::kComplete,
       .keep_alive = false,
       .fields = 1,
       .version_minor = 0},
      {.name = "Get10OtherConnectionToken",
       .raw = "GET / HTTP/1.0\r\nConnection: te\r\n\r\n",
       .status = HeadStatus::kComplete,
       .keep_alive = false,
       .fields = 1,
       .version_minor = 0},
      {.name = "PostContentLength",
       .raw = post + "Content-Length: 5\r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kContentLength,
       .content_length = 5,
       .fields = 2},
      {.name = "PostContentLengthZero",
       .raw = post + "Content-Length: 0\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 2},
      {.name = "PostContentLengthLeadingZeros",
       .raw = post + "Content-Length: 007\r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kContentLength,
       .content_length = 7,
       .fields = 2},
      {.name = "PostContentLengthLarge",
       .raw = post + "Content-Length: 1099511627776\r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kContentLength,
       .content_length = 1099511627776ULL,
       .fields = 2},
      {.name = "PostChunked",
       .raw = post + "Transfer-Encoding: chunked\r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kChunked,
       .fields = 2},
      {.name = "PostChunkedMixedCase",
       .raw = post + "transfer-encoding: ChUnKeD\r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kChunked,
       .fields = 2},
      {.name = "PostChunkedTrailingOws",
       .raw = post + "Transfer-Encoding: chunked \t\r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kChunked,
       .fields = 2},
      {.name = "PostContentLengthTrailingOws",
       .raw = post + "Content-Length: 5 \r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kContentLength,
       .content_length = 5,
       .fields = 2},
      {.name = "Head",
       .raw = "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 1,
       .is_head = true},
      {.name = "ExpectContinue",
       .raw = post + "Content-Length: 3\r\nExpect: 100-Continue\r\n\r\n",
       .status = HeadStatus::kComplete,
       .framing = Framing::kContentLength,
       .content_length = 3,
       .fields = 3,
       .expect_continue = true},
      {.name = "ExpectOther",
       .raw = post + "Expect: something\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 2},
      {.name = "WebSocket",
       .raw = get + "Upgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 3,
       .websocket = true},
      {.name = "WebSocketWithoutConnectionUpgrade",
       .raw = get + "Upgrade: websocket\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 2},
      {.name = "WebSocketIn10",
       .raw = "GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
       .status = HeadStatus::kComplete,
       .keep_alive = false,
       .fields = 2,
       .version_minor = 0},
      {.name = "UpgradeH2c",
       .raw = get + "Upgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 3},
      {.name = "AbsoluteFormTarget",
       .raw = "GET http://a/b?c HTTP/1.1\r\nHost: a\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 1},
      {.name = "AsteriskOptions",
       .raw = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 1},
      {.name = "EmptyFieldValue",
       .raw = get + "X-Empty:\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 2},
      {.name = "PipelinedNextRequestAfterHead",
       .raw = get + "\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 1,
       .length = get.size() + 2},
      {.name = "BodyBytesAfterHead",
       .raw = post + "Content-Length: 4\r\n\r\nbody",
       .status = HeadStatus::kComplete,
       .framing = Framing::kContentLength,
       .content_length = 4,
       .fields = 2,
       .length = post.size() + 21},
      {.name = "ObsTextInValue",
       .raw = get + "X-Latin: caf\xc3\xa9\r\n\r\n",
       .status = HeadStatus::kComplete,
       .fields = 2},
      {.name = "HundredFields",
       .raw = get + filler_fields(99) + "\r\n",
       .status = HeadStatus::kComplete,
       .fields = 100},
      {.name = "HundredAndOneFields",
       .raw = get + filler_fields(100) + "\r\n",
       .status = HeadStatus::kTooLarge},

      // Smuggling (SPEC §4, RFC 9112 §6.1, §6.3): each one is a 400.
      bad("ContentLengthAndChunked", post + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
      bad("ChunkedAndContentLength", post + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
      bad("ContentLengthZeroAndChunked",
          post + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n"),
      bad("DuplicateContentLengthDiffering",
          post + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
      bad("DuplicateContentLengthSame", post + "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"),
      bad("ContentLengthList", post + "Content-Length: 5, 5\r\n\r\n"),
      bad("ContentLengthSigned", post + "Content-Length: +5\r\n\r\n"),
      bad("ContentLengthNegative", post + "Content-Length: -1\r\n\r\n"),
      bad("ContentLengthHex", post + "Content-Length: 0x10\r\n\r\n"),
      bad("ContentLengthEmpty", post + "Content-Length:\r\n\r\n"),
      bad("ContentLengthInnerSpace", post + "Content-Length: 1 2\r\n\r\n"),
      bad("ContentLengthOverflow", post + "Content-Length: 99999999999999999999999\r\n\r\n"),
      bad("TransferEncodingGzip", post + "Transfer-Encoding: gzip\r\n\r\n"),
      bad("TransferEncodingGzipChunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n"),
      bad("TransferEncodingChunkedGzip", post + "Transfer-Encoding: chunked, gzip\r\n\r\n"),
      bad("TransferEncodingChunkedTwiceInList", post + "Transfer-Encoding: chunked, chunked\r\n\r\n"),
      bad("TransferEncodingTwoLines",
          post + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"),
      bad("TransferEncodingIdentityThenChunked",
          post + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"),
      bad("TransferEncodingObfuscatedPrefix", post + "Transfer-Encoding: xchunked\r\n\r\n"),
      bad("TransferEncodingObfuscatedSuffix", post + "Transfer-Encoding: chunkedx\r\n\r\n"),
      bad("TransferEncodingQuoted", post + "Transfer-Encoding: \"chunked\"\r\n\r\n"),
      bad("TransferEncodingVerticalTab", post + "Transfer-Encoding:\x0b" "chunked\r\n\r\n"),
      bad("TransferEncodingFormFeed", post + "Transfer-Encoding: chunked\x0c\r\n\r\n"),
      bad("TransferEncodingSpaceBeforeColon", post + "Transfer-Encoding : chunked\r\n\r\n"),
      bad("TransferEncodingTabBeforeColon", post + "Transfer-Encoding\t: chunked\r\n\r\n"),
      // Obsolete line folding (RFC 9112 §5.2): the proxy forwards each field's first line only,
      // so a folded value would frame the body one way here and another way upstream.
      bad("TransferEncodingObsFold", post + "Transfer-Encoding:\r\n chunked\r\n\r\n"),
      bad("TransferEncodingObsFoldAfterIdentity",
          post + "Transfer-Encoding: identity\r\n chunked\r\n\r\n"),
      bad("ContentLengthObsFold", post + "Content-Length:\r\n 5\r\n\r\n"),
      bad("HostObsFold", "GET / HTTP/1.1\r\nHost:\r\n other.example\r\n\r\n"),
      bad("TransferEncodingNulInValue", post + "Transfer-Encoding: chunked\0x\r\n\r\n"s),
      bad("TransferEncodingIn10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
      bad("MissingHost11", "GET / HTTP/1.1\r\n\r\n"),
      bad("DuplicateHost", get + "Host: b\r\n\r\n"),
      bad("DuplicateHostOtherCase", get + "hOST: a\r\n\r\n"),
      bad("DuplicateHostIn10", "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"),
      bad("BareLfLineEnds", "GET / HTTP/1.1\nHost: a\n\n"),
      bad("BareLfInsideValue", get + "X-A: 1\nX-B: 2\r\n\r\n"),
      bad("BareCrInsideValue", get + "X-A: 1\rX-B: 2\r\n\r\n"),
      bad("BareCrAfterRequestLine", "GET / HTTP/1.1\rHost: a\r\n\r\n"),
      bad("NulInValue", get + "X-A: a\0b\r\n\r\n"s),
      bad("SohInValue", get + "X-A: a\x01" "b\r\n\r\n"),
      bad("EscInValue", get + "X-A: a\x1b[31m\r\n\r\n"),
      bad("DelInValue", get + "X-A: a\x7f" "b\r\n\r\n"),
      bad("ObsFold", get + "X-A: a\r\n b\r\n\r\n"),
      bad("FieldWithoutColon", get + "X-A\r\n\r\n"),
      bad("EmptyFieldName", get + ": x\r\n\r\n"),
      bad("SpaceInFieldName", get + "X A: x\r\n\r\n"),
      bad("LeadingWhitespaceFirstField", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
      bad("Http12", "GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
      bad("Http20", "GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
      bad("Http09", "GET /\r\n\r\n"),
      bad("LowercaseVersion", "GET / http/1.1\r\nHost: a\r\n\r\n"),
      bad("LowercaseMethod", "get / HTTP/1.1\r\nHost: a\r\n\r\n"),
      bad("UnknownMethod", "BREW / HTTP/1.1\r\nHost: a\r\n\r\n"),
      bad("Connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n"),
      bad("SpaceInTarget", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"),
      bad("TrailingSpaceAfterVersion", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
      bad("NotHttp", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"s),
      bad("EmptyHead", "\r\n\r\n"),
  };
}

// The result of scanning then parsing `raw` in one piece.
struct Outcome {
  HeadStatus status = HeadStatus::kIncomplete;
  std::size_t scanned_length = 0;  // when the scanner completed
  bool scanner_rejected = false;
};

Outcome scan_and_parse(std::string_view raw, MessageParser& parser, RequestHead& head) {
  Outcome o;
  HeadScanner scanner;
  o.status = scanner.scan(raw, kMaxHead);
  if (o.status != HeadStatus::kComplete) {
    o.scanner_rejected = true;
    return o;
  }
  o.scanned_length = scanner.length();
  o.status = parser.parse_request(raw.substr(0, scanner.length()), head);
  return o;
}

class RequestTableTest : public testing::TestWithParam<RequestCase> {};

TEST_P(RequestTableTest, OnePiece) {
  const RequestCase& c = GetParam();
  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead head;
  Outcome o = scan_and_parse(c.raw, parser, head);
  ASSERT_EQ(o.status, c.status) << "error: " << (parser.error() ? parser.error() : "(none)");
  if (c.status != HeadStatus::kComplete) {
    // The parser explains every refusal it makes.
    if (!o.scanner_rejected) {
      EXPECT_NE(parser.error(), nullptr);
    }
    return;
  }
  std::size_t length = c.length ? c.length : c.raw.size();
  EXPECT_EQ(o.scanned_length, length);
  EXPECT_EQ(head.length, length);
  EXPECT_EQ(head.framing, c.framing);
  EXPECT_EQ(head.content_length, c.content_length);
  EXPECT_EQ(head.keep_alive, c.keep_alive);
  EXPECT_EQ(head.headers.size(), c.fields);
  EXPECT_EQ(head.version_minor, c.version_minor);
  EXPECT_EQ(head.is_head, c.is_head);
  EXPECT_EQ(head.expect_continue, c.expect_continue);
  EXPECT_EQ(head.websocket, c.websocket);
  EXPECT_EQ(parser.error(), nullptr);
}

// Two reads: the scanner resumes where it stopped and reaches the same verdict and length.
TEST_P(RequestTableTest, SplitInTwoAtEveryByte) {
  const RequestCase& c = GetParam();
  HeadScanner whole;
  HeadStatus expected = whole.scan(c.raw, kMaxHead);
  for (std::size_t k = 1; k < c.raw.size(); ++k) {
    HeadScanner scanner;
    HeadStatus status = scanner.scan(std::string_view(c.raw).substr(0, k), kMaxHead);
    if (status == HeadStatus::kIncomplete) status = scanner.scan(c.raw, kMaxHead);
    ASSERT_EQ(status, expected) << "split at " << k;
    if (expected == HeadStatus::kComplete) {
      ASSERT_EQ(scanner.length(), whole.length()) << k;
    }
  }
}

// One byte per read: a complete head is seen exactly when its last LF arrives, and the parse of
// what was found is the same as in one piece.
TEST_P(RequestTableTest, OneByteAtATime) {
  const RequestCase& c = GetParam();
  HeadScanner whole;
  HeadStatus expected = whole.scan(c.raw, kMaxHead);
  HeadScanner scanner;
  HeadStatus status = HeadStatus::kIncomplete;
  std::size_t k = 0;
  while (status == HeadStatus::kIncomplete && k < c.raw.size()) {
    status = scanner.scan(std::string_view(c.raw).substr(0, ++k), kMaxHead);
  }
  ASSERT_EQ(status, expected);
  if (expected != HeadStatus::kComplete) return;
  EXPECT_EQ(k, whole.length());
  EXPECT_EQ(scanner.length(), whole.length());

  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead head;
  EXPECT_EQ(parser.parse_request(std::string_view(c.raw).substr(0, scanner.length()), head),
            c.status);
}

INSTANTIATE_TEST_SUITE_P(Table, RequestTableTest, testing::ValuesIn(request_cases()),
                         [](const testing::TestParamInfo<RequestCase>& info) {
                           return info.param.name;
                         });

// ---------------------------------------------------------------------------------------------
// What the head says, as views into the caller's bytes.

TEST(ParseRequestTest, ViewsPointIntoTheHead) {
  const std::string raw =
      "PUT /p/q?x=1&y HTTP/1.1\r\n"
      "Host: example.com:8080\r\n"
      "X-Empty:\r\n"
      "X-Ows: \t padded value \t\r\n"
      "x-request-id: abc\r\n"
      "\r\n";
  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead head;
  ASSERT_EQ(parser.parse_request(raw, head), HeadStatus::kComplete) << parser.error();
  EXPECT_EQ(head.method, "PUT");
  EXPECT_EQ(head.target, "/p/q?x=1&y");
  ASSERT_EQ(head.headers.size(), 4u);

  const Header& host = head.headers[0];
  EXPECT_EQ(host.name, "Host");
  EXPECT_EQ(host.value, "example.com:8080");
  EXPECT_EQ(host.id, HeaderId::kHost);
  EXPECT_TRUE(host.forward);
  // The raw line runs from the name to one past its LF, inside `raw`.
  EXPECT_EQ(std::string_view(host.name.data(), host.line_end - host.name.data()),
            "Host: example.com:8080\r\n");

  EXPECT_EQ(head.headers[1].name, "X-Empty");
  EXPECT_EQ(head.headers[1].value, "");
  EXPECT_EQ(head.headers[1].id, HeaderId::kOther);
  EXPECT_EQ(std::string_view(head.headers[1].name.data(),
                             head.headers[1].line_end - head.headers[1].name.data()),
            "X-Empty:\r\n");

  // RFC 9112 §5: the OWS around a field value is not part of it.
  EXPECT_EQ(head.headers[2].value, "padded value");

  EXPECT_EQ(head.headers[3].id, HeaderId::kXRequestId);
  EXPECT_EQ(head.headers[3].line_end, raw.data() + raw.size() - 2);

  EXPECT_EQ(head.headers.find(HeaderId::kXRequestId), &head.headers[3]);
  EXPECT_EQ(head.headers.find("X-REQUEST-ID"), &head.headers[3]);
}

TEST(ParseRequestTest, ParserIsReusedForTheNextRequest) {
  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead head;
  const std::string first = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(parser.parse_request(first, head), HeadStatus::kComplete);
  EXPECT_FALSE(head.keep_alive);
  const std::string bad = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
  ASSERT_EQ(parser.parse_request(bad, head), HeadStatus::kMalformed);
  ASSERT_NE(parser.error(), nullptr);
  const std::string second = "GET /b HTTP/1.1\r\nHost: b\r\n\r\n";
  ASSERT_EQ(parser.parse_request(second, head), HeadStatus::kComplete);
  EXPECT_EQ(parser.error(), nullptr);
  EXPECT_EQ(head.target, "/b");
  EXPECT_EQ(head.framing, Framing::kNone);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_TRUE(head.keep_alive);
  EXPECT_EQ(head.headers.size(), 1u);
}

TEST(ParseRequestTest, TooManyFieldsIsTooLargeWithAReason) {
  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead head;
  const std::string raw = "GET / HTTP/1.1\r\nHost: a\r\n" + filler_fields(100) + "\r\n";
  EXPECT_EQ(parser.parse_request(raw, head), HeadStatus::kTooLarge);
  ASSERT_NE(parser.error(), nullptr);
  EXPECT_STREQ(parser.error(), "too many header fields");
}

TEST(ParseRequestTest, IncompleteHeadIsMalformed) {
  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead head;
  EXPECT_EQ(parser.parse_request("GET / HTTP/1.1\r\nHost: a\r\n", head), HeadStatus::kMalformed);
  EXPECT_NE(parser.error(), nullptr);
}

// A head passed with bytes beyond its blank line is refused: the caller passes exactly what
// HeadScanner found, and anything else would let a body be read as a head.
TEST(ParseRequestTest, BytesAfterTheBlankLineAreRefused) {
  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead head;
  EXPECT_EQ(parser.parse_request("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET", head),
            HeadStatus::kMalformed);
}

}  // namespace
}  // namespace turnpike::http
