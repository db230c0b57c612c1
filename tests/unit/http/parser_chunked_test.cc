// MessageParser::feed_chunked: chunked bodies of requests and responses, whole and split at every
// byte boundary (consumed bytes, completion, decoded payload), trailers, chunk extensions, and
// malformed framing, which must be an error since the raw bytes are forwarded as they are.
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "http/parser.h"
#include "http_test_util.h"

namespace turnpike::http {
namespace {

using testing_util::escape;

constexpr std::string_view kRequestHead =
    "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
constexpr std::string_view kResponseHead = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

struct ChunkedCase {
  std::string name;
  std::string body;     // what follows the head
  bool error = false;   // malformed framing
  std::size_t length = 0;  // bytes of the message; 0: all of `body` (when not an error)
  std::string payload{};  // the decoded bytes
};

void PrintTo(const ChunkedCase& c, std::ostream* os) { *os << c.name << ": " << escape(c.body); }

ChunkedCase bad(std::string name, std::string body) {
  return {.name = std::move(name), .body = std::move(body), .error = true};
}

std::vector<ChunkedCase> chunked_cases() {
  std::string big(300, 'z');
  return {
      {.name = "OneChunk", .body = "5\r\nhello\r\n0\r\n\r\n", .payload = "hello"},
      {.name = "Empty", .body = "0\r\n\r\n"},
      {.name = "SeveralChunks",
       .body = "3\r\nabc\r\n1\r\nd\r\n4\r\nefgh\r\n0\r\n\r\n",
       .payload = "abcdefgh"},
      {.name = "UpperHex", .body = "A\r\n0123456789\r\n0\r\n\r\n", .payload = "0123456789"},
      {.name = "LowerHex", .body = "a\r\n0123456789\r\n0\r\n\r\n", .payload = "0123456789"},
      {.name = "MultiDigitHex", .body = "12c\r\n" + big + "\r\n0\r\n\r\n", .payload = big},
      {.name = "LeadingZeros", .body = "0005\r\nhello\r\n000\r\n\r\n", .payload = "hello"},
      {.name = "CrlfInPayload", .body = "4\r\n\r\n\r\n\r\n0\r\n\r\n", .payload = "\r\n\r\n"},
      {.name = "Extension", .body = "5;name=value\r\nhello\r\n0\r\n\r\n", .payload = "hello"},
      {.name = "ExtensionWithoutValue", .body = "5;flag\r\nhello\r\n0;last\r\n\r\n",
       .payload = "hello"},
      {.name = "ExtensionQuotedValue", .body = "5;n=\"a b;c\"\r\nhello\r\n0\r\n\r\n",
       .payload = "hello"},
      {.name = "SeveralExtensions", .body = "5;a=1;b=2\r\nhello\r\n0\r\n\r\n", .payload = "hello"},
      {.name = "Trailer", .body = "5\r\nhello\r\n0\r\nX-Checksum: 1234\r\n\r\n", .payload = "hello"},
      {.name = "TwoTrailers", .body = "0\r\nA: 1\r\nB: 2\r\n\r\n"},
      {.name = "NextMessageAfter",
       .body = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
       .length = 15,
       .payload = "hello"},

      bad("NonHexSize", "zz\r\nhello\r\n0\r\n\r\n"),
      bad("NegativeSize", "-5\r\nhello\r\n0\r\n\r\n"),
      bad("PrefixedHex", "0x5\r\nhello\r\n0\r\n\r\n"),
      bad("EmptySize", "\r\nhello\r\n0\r\n\r\n"),
      bad("SpaceBeforeSize", " 5\r\nhello\r\n0\r\n\r\n"),
      bad("SpaceAfterSize", "5 \r\nhello\r\n0\r\n\r\n"),
      bad("SizeOverflow", "10000000000000000\r\nx\r\n0\r\n\r\n"),
      bad("BareLfAfterSize", "5\nhello\r\n0\r\n\r\n"),
      bad("CrWithoutLfAfterSize", "5\rXhello\r\n0\r\n\r\n"),
      bad("DataLongerThanSize", "5\r\nhelloXX\r\n0\r\n\r\n"),
      bad("DataShorterThanSize", "5\r\nhell\r\n0\r\n\r\n"),
      bad("BareLfAfterData", "5\r\nhello\n0\r\n\r\n"),
      bad("NoCrlfAfterData", "5\r\nhelloXY0\r\n\r\n"),
      bad("SpaceInExtensionName", "5;a b\r\nhello\r\n0\r\n\r\n"),
      bad("ControlInTrailer", "0\r\nX: a\x01" "b\r\n\r\n"),
      bad("TrailerWithoutColon", "0\r\nbroken\r\n\r\n"),
      bad("CrWithoutLfEndingTrailers", "0\r\n\rX"),
  };
}

// Feeds `pieces` one after the other, as reads would deliver them, stopping at completion or
// error. `consumed` counts the bytes the parser took from all pieces.
struct Fed {
  bool complete = false;
  bool error = false;
  std::size_t consumed = 0;
  std::string payload;
  uint64_t payload_bytes = 0;
};

void append(void* context, const char* data, std::size_t length) {
  static_cast<std::string*>(context)->append(data, length);
}

Fed feed(MessageParser& parser, const std::vector<std::string_view>& pieces) {
  Fed fed;
  for (std::string_view piece : pieces) {
    if (piece.empty()) continue;
    MessageParser::BodyProgress p = parser.feed_chunked(piece.data(), piece.size(), &append,
                                                        &fed.payload);
    EXPECT_LE(p.consumed, piece.size());
    fed.consumed += p.consumed;
    if (p.error) {
      fed.error = true;
      EXPECT_NE(parser.error(), nullptr);
      break;
    }
    if (p.complete) {
      fed.complete = true;
      break;
    }
    // Not complete and no error: every byte was taken.
    EXPECT_EQ(p.consumed, piece.size());
  }
  fed.payload_bytes = parser.chunked_payload_bytes();
  return fed;
}

// A parser that has parsed a chunked head; the head stays alive as long as the parser, as in an
// exchange.
struct Started {
  explicit Started(bool response)
      : parser(response ? MessageParser::Kind::kResponse : MessageParser::Kind::kRequest) {
    if (response) {
      EXPECT_EQ(parser.parse_response(kResponseHead, false, response_head), HeadStatus::kComplete);
      EXPECT_EQ(response_head.framing, Framing::kChunked);
    } else {
      EXPECT_EQ(parser.parse_request(kRequestHead, request_head), HeadStatus::kComplete);
      EXPECT_EQ(request_head.framing, Framing::kChunked);
    }
  }
  MessageParser parser;
  RequestHead request_head;
  ResponseHead response_head;
};

void expect_result(const ChunkedCase& c, const Fed& fed, const std::string& where) {
  if (c.error) {
    EXPECT_TRUE(fed.error) << where << ": accepted, consumed " << fed.consumed;
    EXPECT_FALSE(fed.complete) << where;
    return;
  }
  std::size_t length = c.length ? c.length : c.body.size();
  EXPECT_FALSE(fed.error) << where;
  EXPECT_TRUE(fed.complete) << where;
  EXPECT_EQ(fed.consumed, length) << where;
  EXPECT_EQ(fed.payload, c.payload) << where;
  EXPECT_EQ(fed.payload_bytes, c.payload.size()) << where;
}

// (kind, case): each case on a request and on a response.
class ChunkedTableTest : public testing::TestWithParam<std::tuple<bool, ChunkedCase>> {};

TEST_P(ChunkedTableTest, OnePiece) {
  auto [response, c] = GetParam();
  Started s(response);
  expect_result(c, feed(s.parser, {c.body}), "one piece");
}

TEST_P(ChunkedTableTest, SplitInTwoAtEveryByte) {
  auto [response, c] = GetParam();
  std::string_view body = c.body;
  for (std::size_t k = 1; k < body.size(); ++k) {
    Started s(response);
    expect_result(c, feed(s.parser, {body.substr(0, k), body.substr(k)}),
                  "split at " + std::to_string(k));
    if (HasFailure()) return;
  }
}

TEST_P(ChunkedTableTest, OneByteAtATime) {
  auto [response, c] = GetParam();
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < c.body.size(); ++i) bytes.push_back(std::string_view(c.body).substr(i, 1));
  Started s(response);
  expect_result(c, feed(s.parser, bytes), "byte at a time");
}

INSTANTIATE_TEST_SUITE_P(Table, ChunkedTableTest,
                         testing::Combine(testing::Bool(), testing::ValuesIn(chunked_cases())),
                         [](const testing::TestParamInfo<std::tuple<bool, ChunkedCase>>& info) {
                           return std::string(std::get<0>(info.param) ? "Response" : "Request") +
                                  std::get<1>(info.param).name;
                         });

TEST(FeedChunkedTest, SinkIsOptional) {
  Started s(false);
  MessageParser& parser = s.parser;
  std::string body = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  MessageParser::BodyProgress p = parser.feed_chunked(body.data(), body.size());
  EXPECT_TRUE(p.complete);
  EXPECT_FALSE(p.error);
  EXPECT_EQ(p.consumed, body.size());
  EXPECT_EQ(parser.chunked_payload_bytes(), 5u);
}

// The payload count restarts with each message parsed by the same parser.
TEST(FeedChunkedTest, PayloadCountRestartsPerMessage) {
  Started s(false);
  MessageParser& parser = s.parser;
  std::string first = "4\r\nabcd\r\n0\r\n\r\n";
  ASSERT_TRUE(parser.feed_chunked(first.data(), first.size()).complete);
  EXPECT_EQ(parser.chunked_payload_bytes(), 4u);
  ASSERT_EQ(parser.parse_request(kRequestHead, s.request_head), HeadStatus::kComplete);
  EXPECT_EQ(parser.chunked_payload_bytes(), 0u);
  std::string second = "2\r\nxy\r\n0\r\n\r\n";
  ASSERT_TRUE(parser.feed_chunked(second.data(), second.size()).complete);
  EXPECT_EQ(parser.chunked_payload_bytes(), 2u);
}

// A large chunk arrives over many reads; the payload is delivered in pieces as it comes.
TEST(FeedChunkedTest, LargeChunkStreamsThrough) {
  Started s(true);
  MessageParser& parser = s.parser;
  std::string payload(1 << 20, 'p');
  std::string body = "100000\r\n" + payload + "\r\n0\r\n\r\n";
  std::string got;
  std::size_t at = 0;
  bool complete = false;
  while (at < body.size() && !complete) {
    std::size_t n = std::min<std::size_t>(16 * 1024, body.size() - at);
    MessageParser::BodyProgress p = parser.feed_chunked(body.data() + at, n, &append, &got);
    ASSERT_FALSE(p.error) << parser.error();
    at += p.consumed;
    complete = p.complete;
  }
  EXPECT_TRUE(complete);
  EXPECT_EQ(at, body.size());
  EXPECT_EQ(got.size(), payload.size());
  EXPECT_EQ(parser.chunked_payload_bytes(), payload.size());
}

// Trailer fields belong to the body, not to the head parsed before it: the head's field list
// (whose views the proxy has already used to write the upstream head) must not change.
TEST(FeedChunkedTest, TrailersDoNotChangeTheHeadFields) {
  for (bool response : {false, true}) {
    Started s(response);
    const HeaderList& fields = response ? s.response_head.headers : s.request_head.headers;
    std::size_t before = fields.size();
    std::string body = "5\r\nhello\r\n0\r\nX-Checksum: 1234\r\nX-Other: 5\r\n\r\n";
    MessageParser::BodyProgress p = s.parser.feed_chunked(body.data(), body.size());
    EXPECT_TRUE(p.complete) << (response ? "response" : "request");
    EXPECT_EQ(fields.size(), before) << (response ? "response" : "request");
  }
}

// A request may use all 100 fields and still end its chunked body with a trailer.
TEST(FeedChunkedTest, TrailerAfterAHeadOfHundredFields) {
  std::string head = "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" +
                     testing_util::filler_fields(98) + "\r\n";
  MessageParser parser(MessageParser::Kind::kRequest);
  RequestHead request;
  ASSERT_EQ(parser.parse_request(head, request), HeadStatus::kComplete) << parser.error();
  ASSERT_EQ(request.headers.size(), 100u);
  std::string body = "3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n";
  MessageParser::BodyProgress p = parser.feed_chunked(body.data(), body.size());
  EXPECT_FALSE(p.error) << parser.error();
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.consumed, body.size());
}

}  // namespace
}  // namespace turnpike::http
