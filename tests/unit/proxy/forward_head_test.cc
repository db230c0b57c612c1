// The forwarded-head writers (write_request_head, write_response_head): whatever framing a
// message came with and whatever its Connection header names, the head the gateway writes
// carries exactly one framing field, and it matches the body that follows (issue: a
// `Connection: Content-Length` once unframed a forwarded body into a smuggled request).
#include <gtest/gtest.h>

#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "http/parser.h"
#include "net/buffer.h"
#include "proxy/forward.h"

namespace turnpike::proxy {
namespace {

using http::Framing;
using http::HeadScanner;
using http::HeadStatus;
using http::HeaderId;
using http::MessageParser;

// Tokens the gateway cares about: framing fields, addressing, the fields it sets itself, and
// the connection-management tokens.
const std::vector<std::string> kTokens = {
    "",
    "Content-Length",
    "Transfer-Encoding",
    "Host",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "X-Forwarded-Host",
    "X-Request-Id",
    "traceparent",
    "keep-alive",
    "close",
    "Content-Length, Transfer-Encoding, Host",
};

std::string token_name(const std::string& token) {
  std::string name;
  for (char c : token) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return name.empty() ? "no_token" : name;
}

class ForwardHeadTest : public testing::Test {
 protected:
  net::BufferPool pool{16 * 1024, 4};
  net::BufferRef out = pool.acquire();
};

// --- Requests ----------------------------------------------------------------------------------

enum class RequestBody { kNone, kEmptyLength, kLength, kChunked };

struct RequestCase {
  RequestBody body;
  std::string token;
};

std::string request_text(const RequestCase& c) {
  std::string head = "POST /in HTTP/1.1\r\nHost: api.example.com\r\nX-Forwarded-For: 9.9.9.9\r\n"
                     "X-Request-Id: client-id-1\r\nAccept: */*\r\n";
  switch (c.body) {
    case RequestBody::kNone: break;
    case RequestBody::kEmptyLength: head += "Content-Length: 0\r\n"; break;
    case RequestBody::kLength: head += "Content-Length: 0043\r\n"; break;
    case RequestBody::kChunked: head += "Transfer-Encoding: chunked\r\n"; break;
  }
  if (!c.token.empty()) head += "Connection: " + c.token + "\r\n";
  return head + "\r\n";
}

class RequestHeadTest : public ForwardHeadTest, public testing::WithParamInterface<RequestCase> {};

TEST_P(RequestHeadTest, ExactlyOneFramingFieldMatchingTheBody) {
  const RequestCase& c = GetParam();
  const std::string in = request_text(c);
  auto request = std::make_unique<http::RequestHead>();
  MessageParser parser(MessageParser::Kind::kRequest);
  ASSERT_EQ(parser.parse_request(in, *request), HeadStatus::kComplete) << parser.error();
  mark_request_fields(*request, /*trace_continued=*/false);

  ForwardedRequest f;
  f.path = "/in";
  f.host = "api.example.com";
  f.peer_ip = "10.0.0.7";
  f.request_id = "client-id-1";
  f.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  HeadWriter w(*out);
  write_request_head(*request, f, w);
  ASSERT_TRUE(w.ok());

  const std::string text(w.text());
  HeadScanner scanner;
  ASSERT_EQ(scanner.scan(text, 64 * 1024), HeadStatus::kComplete) << text;
  ASSERT_EQ(scanner.length(), text.size()) << text;
  http::RequestHead forwarded;
  MessageParser back(MessageParser::Kind::kRequest);
  ASSERT_EQ(back.parse_request(text, forwarded), HeadStatus::kComplete) << back.error() << text;

  int lengths = static_cast<int>(forwarded.headers.count(HeaderId::kContentLength));
  int codings = static_cast<int>(forwarded.headers.count(HeaderId::kTransferEncoding));
  switch (c.body) {
    case RequestBody::kNone:
      EXPECT_EQ(lengths + codings, 0) << text;
      break;
    case RequestBody::kEmptyLength:
      EXPECT_EQ(lengths, 1) << text;
      EXPECT_EQ(codings, 0) << text;
      EXPECT_EQ(forwarded.headers.find(HeaderId::kContentLength)->value, "0");
      break;
    case RequestBody::kLength:
      EXPECT_EQ(lengths, 1) << text;
      EXPECT_EQ(codings, 0) << text;
      EXPECT_EQ(forwarded.headers.find(HeaderId::kContentLength)->value, "43");  // canonical
      EXPECT_EQ(forwarded.framing, Framing::kContentLength);
      EXPECT_EQ(forwarded.content_length, 43u);
      break;
    case RequestBody::kChunked:
      EXPECT_EQ(lengths, 0) << text;
      EXPECT_EQ(codings, 1) << text;
      EXPECT_EQ(forwarded.framing, Framing::kChunked);
      break;
  }
  // Addressing and the gateway's own fields are never taken away by a Connection token.
  ASSERT_EQ(forwarded.headers.count(HeaderId::kHost), 1u) << text;
  EXPECT_EQ(forwarded.headers.find(HeaderId::kHost)->value, "api.example.com");
  EXPECT_EQ(forwarded.headers.count(HeaderId::kXRequestId), 1u) << text;
  EXPECT_EQ(forwarded.headers.count(HeaderId::kTraceparent), 1u) << text;
  EXPECT_EQ(forwarded.headers.count(HeaderId::kConnection), 0u) << text;
  ASSERT_EQ(forwarded.headers.count(HeaderId::kXForwardedFor), 1u) << text;
  // A client's X-Forwarded-For named in Connection is dropped: the chain restarts at the peer.
  bool xff_named = c.token.find("X-Forwarded-For") != std::string::npos;
  EXPECT_EQ(forwarded.headers.find(HeaderId::kXForwardedFor)->value,
            xff_named ? "10.0.0.7" : "9.9.9.9, 10.0.0.7");
}

std::vector<RequestCase> request_cases() {
  std::vector<RequestCase> cases;
  for (RequestBody body : {RequestBody::kNone, RequestBody::kEmptyLength, RequestBody::kLength,
                           RequestBody::kChunked}) {
    for (const std::string& token : kTokens) cases.push_back({body, token});
  }
  return cases;
}

std::string request_case_name(const testing::TestParamInfo<RequestCase>& info) {
  static const char* const kBodies[] = {"none", "empty_length", "length", "chunked"};
  return std::string(kBodies[static_cast<int>(info.param.body)]) + "_" +
         token_name(info.param.token) + "_" + std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Framings, RequestHeadTest, testing::ValuesIn(request_cases()),
                         request_case_name);

// --- Responses ---------------------------------------------------------------------------------

enum class ResponseKind { kNone, kLength, kChunked, kUntilClose, kHeadLength, k204, k304 };

struct ResponseCase {
  ResponseKind kind;
  ResponseBody mode;
  std::string token;
};

class ResponseHeadTest : public ForwardHeadTest,
                         public testing::WithParamInterface<ResponseCase> {};

TEST_P(ResponseHeadTest, ExactlyOneFramingFieldMatchingTheBody) {
  const ResponseCase& c = GetParam();
  std::string in;
  bool request_was_head = false;
  switch (c.kind) {
    case ResponseKind::kNone: in = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"; break;
    case ResponseKind::kLength: in = "HTTP/1.1 200 OK\r\nContent-Length: 007\r\n"; break;
    case ResponseKind::kChunked: in = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"; break;
    case ResponseKind::kUntilClose: in = "HTTP/1.1 200 OK\r\n"; break;
    case ResponseKind::kHeadLength:
      in = "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n";
      request_was_head = true;
      break;
    case ResponseKind::k204: in = "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n"; break;
    case ResponseKind::k304: in = "HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n"; break;
  }
  in += "X-Request-Id: upstream-id\r\nETag: \"v1\"\r\n";
  if (!c.token.empty()) in += "Connection: " + c.token + "\r\n";
  in += "\r\n";

  auto upstream = std::make_unique<http::ResponseHead>();
  MessageParser parser(MessageParser::Kind::kResponse);
  ASSERT_EQ(parser.parse_response(in, request_was_head, *upstream), HeadStatus::kComplete)
      << parser.error();
  ForwardedResponse f{c.mode, "gw-id", /*close=*/c.mode == ResponseBody::kDechunk,
                      /*client_http10=*/c.mode == ResponseBody::kDechunk};
  HeadWriter w(*out);
  write_response_head(*upstream, f, w);
  ASSERT_TRUE(w.ok());

  const std::string text(w.text());
  HeadScanner scanner;
  ASSERT_EQ(scanner.scan(text, 64 * 1024), HeadStatus::kComplete) << text;
  ASSERT_EQ(scanner.length(), text.size()) << text;
  http::ResponseHead client;
  MessageParser back(MessageParser::Kind::kResponse);
  ASSERT_EQ(back.parse_response(text, request_was_head, client), HeadStatus::kComplete)
      << back.error() << text;

  int lengths = static_cast<int>(client.headers.count(HeaderId::kContentLength));
  int codings = static_cast<int>(client.headers.count(HeaderId::kTransferEncoding));
  EXPECT_LE(lengths + codings, 1) << text;
  switch (c.kind) {
    case ResponseKind::kNone:
      EXPECT_EQ(lengths, 1) << text;  // the empty body stays framed
      EXPECT_EQ(client.framing, Framing::kNone);
      break;
    case ResponseKind::kLength:
      EXPECT_EQ(lengths, 1) << text;
      EXPECT_EQ(client.headers.find(HeaderId::kContentLength)->value, "7");
      EXPECT_EQ(client.framing, Framing::kContentLength);
      break;
    case ResponseKind::kChunked:
      // Re-framed for an HTTP/1.0 client as close-delimited; otherwise chunked as it came.
      EXPECT_EQ(codings, c.mode == ResponseBody::kDechunk ? 0 : 1) << text;
      EXPECT_EQ(client.framing, c.mode == ResponseBody::kDechunk ? Framing::kUntilClose
                                                                   : Framing::kChunked);
      break;
    case ResponseKind::kUntilClose:
      EXPECT_EQ(codings, c.mode == ResponseBody::kRechunk ? 1 : 0) << text;
      EXPECT_EQ(client.framing, c.mode == ResponseBody::kRechunk ? Framing::kChunked
                                                                   : Framing::kUntilClose);
      break;
    case ResponseKind::kHeadLength:
      EXPECT_EQ(lengths, 1) << text;  // what a GET would have carried
      EXPECT_EQ(client.content_length, 1234u);
      EXPECT_EQ(client.framing, Framing::kNone);
      break;
    case ResponseKind::k204:
      EXPECT_EQ(lengths + codings, 0) << text;
      break;
    case ResponseKind::k304:
      EXPECT_EQ(lengths, 1) << text;
      EXPECT_EQ(client.framing, Framing::kNone);
      break;
  }
  ASSERT_EQ(client.headers.count(HeaderId::kXRequestId), 1u) << text;
  EXPECT_EQ(client.headers.find(HeaderId::kXRequestId)->value, "gw-id");
  EXPECT_NE(client.headers.find("etag"), nullptr) << text;
}

std::vector<ResponseCase> response_cases() {
  std::vector<ResponseCase> cases;
  for (ResponseKind kind : {ResponseKind::kNone, ResponseKind::kLength, ResponseKind::kChunked,
                            ResponseKind::kUntilClose, ResponseKind::kHeadLength,
                            ResponseKind::k204, ResponseKind::k304}) {
    std::vector<ResponseBody> modes = {ResponseBody::kAsIs};
    if (kind == ResponseKind::kChunked) modes.push_back(ResponseBody::kDechunk);
    if (kind == ResponseKind::kUntilClose) modes = {ResponseBody::kRechunk, ResponseBody::kAsIs};
    for (ResponseBody mode : modes) {
      for (const std::string& token : kTokens) {
        if (token == "close" || token == "keep-alive") continue;  // connection management only
        cases.push_back({kind, mode, token});
      }
    }
  }
  return cases;
}

std::string response_case_name(const testing::TestParamInfo<ResponseCase>& info) {
  static const char* const kKinds[] = {"empty", "length", "chunked", "until_close",
                                       "head",  "s204",   "s304"};
  static const char* const kModes[] = {"as_is", "rechunk", "dechunk"};
  return std::string(kKinds[static_cast<int>(info.param.kind)]) + "_" +
         kModes[static_cast<int>(info.param.mode)] + "_" + token_name(info.param.token) + "_" +
         std::to_string(info.index);
}

INSTANTIATE_TEST_SUITE_P(Framings, ResponseHeadTest, testing::ValuesIn(response_cases()),
                         response_case_name);

// --- WebSocket upgrades ------------------------------------------------------------------------

// The gateway writes the upgrade's Connection and Upgrade itself: the client's are hop-by-hop,
// and a client's extra Connection tokens cannot ride along on them.
TEST_F(ForwardHeadTest, UpgradeRequestCarriesTheGatewaysOwnUpgradeFields) {
  const std::string in =
      "GET /ws HTTP/1.1\r\nHost: api.example.com\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade, X-Secret\r\nX-Secret: 1\r\nSec-WebSocket-Key: "
      "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  auto request = std::make_unique<http::RequestHead>();
  MessageParser parser(MessageParser::Kind::kRequest);
  ASSERT_EQ(parser.parse_request(in, *request), HeadStatus::kComplete) << parser.error();
  EXPECT_TRUE(request->websocket);
  mark_request_fields(*request, /*trace_continued=*/false);
  ForwardedRequest f;
  f.path = "/ws";
  f.host = "api.example.com";
  f.peer_ip = "10.0.0.7";
  f.request_id = "id-1";
  f.upgrade = true;
  HeadWriter w(*out);
  write_request_head(*request, f, w);
  ASSERT_TRUE(w.ok());
  const std::string text(w.text());
  http::RequestHead forwarded;
  MessageParser back(MessageParser::Kind::kRequest);
  ASSERT_EQ(back.parse_request(text, forwarded), HeadStatus::kComplete) << back.error() << text;
  EXPECT_TRUE(forwarded.websocket) << text;
  EXPECT_EQ(forwarded.headers.count(HeaderId::kUpgrade), 1u) << text;
  EXPECT_EQ(forwarded.headers.count(HeaderId::kConnection), 1u) << text;
  EXPECT_EQ(forwarded.headers.find(HeaderId::kConnection)->value, "Upgrade") << text;
  EXPECT_EQ(forwarded.headers.find("x-secret"), nullptr) << text;
  EXPECT_NE(forwarded.headers.find("sec-websocket-key"), nullptr) << text;
  EXPECT_EQ(forwarded.framing, Framing::kNone) << text;
}

// The client gets the upstream's 101 with the handshake fields, the gateway's Connection and
// Upgrade, and no framing field (no body follows: the connection switches protocols).
TEST_F(ForwardHeadTest, SwitchingProtocolsResponse) {
  const std::string in =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  auto upstream = std::make_unique<http::ResponseHead>();
  MessageParser parser(MessageParser::Kind::kResponse);
  ASSERT_EQ(parser.parse_response(in, false, *upstream), HeadStatus::kComplete) << parser.error();
  ForwardedResponse f{ResponseBody::kAsIs, "gw-id", /*close=*/true, /*client_http10=*/false};
  f.upgrade = true;
  HeadWriter w(*out);
  write_response_head(*upstream, f, w);
  ASSERT_TRUE(w.ok());
  const std::string text(w.text());
  EXPECT_EQ(text,
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
            "X-Request-Id: gw-id\r\n"
            "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
}

}  // namespace
}  // namespace turnpike::proxy
