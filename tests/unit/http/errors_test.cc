// The gateway's own error responses (SPEC §5): the status/code table, and render_error's output
// read back with the gateway's own response parser and a JSON parser.
#include "http/errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "http/parser.h"
#include "http_test_util.h"
#include "test_names.h"

namespace turnpike::http {
namespace {

using testing_util::escape;

struct ErrorRow {
  Error error;
  uint16_t status;
  std::string code;
  std::string reason;
};

class ErrorTableTest : public testing::TestWithParam<ErrorRow> {};

// SPEC §5, row by row.
TEST_P(ErrorTableTest, MatchesSpec) {
  const ErrorRow& r = GetParam();
  EXPECT_EQ(status_of(r.error), r.status);
  EXPECT_EQ(code_of(r.error), r.code);
  EXPECT_FALSE(default_message(r.error).empty());
  EXPECT_EQ(reason_phrase(r.status), r.reason);
}

INSTANTIATE_TEST_SUITE_P(
    Spec, ErrorTableTest,
    testing::Values(ErrorRow{Error::kBadRequest, 400, "bad_request", "Bad Request"},
                    ErrorRow{Error::kUnauthorized, 401, "unauthorized", "Unauthorized"},
                    ErrorRow{Error::kForbidden, 403, "forbidden", "Forbidden"},
                    ErrorRow{Error::kNoRoute, 404, "no_route", "Not Found"},
                    ErrorRow{Error::kMethodNotAllowed, 405, "method_not_allowed",
                             "Method Not Allowed"},
                    ErrorRow{Error::kRequestTimeout, 408, "request_timeout", "Request Timeout"},
                    ErrorRow{Error::kPayloadTooLarge, 413, "payload_too_large",
                             "Content Too Large"},
                    ErrorRow{Error::kRateLimited, 429, "rate_limited", "Too Many Requests"},
                    ErrorRow{Error::kHeadersTooLarge, 431, "headers_too_large",
                             "Request Header Fields Too Large"},
                    ErrorRow{Error::kBadGateway, 502, "bad_gateway", "Bad Gateway"},
                    ErrorRow{Error::kUpstreamUnavailable, 503, "upstream_unavailable",
                             "Service Unavailable"},
                    ErrorRow{Error::kGatewayTimeout, 504, "gateway_timeout", "Gateway Timeout"}),
    [](const testing::TestParamInfo<ErrorRow>& info) { return info.param.code; });

TEST(ReasonPhraseTest, CommonAndUnknown) {
  EXPECT_EQ(reason_phrase(200), "OK");
  EXPECT_EQ(reason_phrase(204), "No Content");
  EXPECT_EQ(reason_phrase(304), "Not Modified");
  EXPECT_EQ(reason_phrase(101), "Switching Protocols");
  EXPECT_EQ(reason_phrase(299), "Unknown");
  EXPECT_EQ(reason_phrase(0), "Unknown");
}

// A rendered error parsed back: everything a client relies on.
struct Rendered {
  ResponseHead head;
  std::string text;
  std::string body;
  nlohmann::json json;
};

void parse_rendered(const std::string& text, Rendered& out) {
  out.text = text;
  HeadScanner scanner;
  ASSERT_EQ(scanner.scan(out.text, 64 * 1024), HeadStatus::kComplete) << escape(out.text);
  MessageParser parser(MessageParser::Kind::kResponse);
  ASSERT_EQ(parser.parse_response(std::string_view(out.text).substr(0, scanner.length()), false,
                                  out.head),
            HeadStatus::kComplete)
      << parser.error() << ": " << escape(out.text);
  out.body = out.text.substr(scanner.length());
  ASSERT_EQ(out.head.framing, Framing::kContentLength);
  ASSERT_EQ(out.head.content_length, out.body.size()) << escape(out.text);
  out.json = nlohmann::json::parse(out.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(out.json.is_discarded()) << "not JSON: " << escape(out.body);
}

std::string value_of(const ResponseHead& head, std::string_view name) {
  const Header* h = head.headers.find(name);
  return h ? std::string(h->value) : std::string("(absent)");
}

class RenderErrorTest : public testing::TestWithParam<ErrorRow> {};

TEST_P(RenderErrorTest, ParsesBack) {
  const ErrorRow& r = GetParam();
  Rendered out;
  parse_rendered(render_error(r.error, "", "req-123", "", false, false), out);
  if (HasFatalFailure()) return;
  EXPECT_EQ(out.head.status, r.status);
  EXPECT_EQ(out.head.reason, r.reason);
  EXPECT_EQ(out.head.version_minor, 1);
  EXPECT_TRUE(out.head.keep_alive);
  EXPECT_EQ(value_of(out.head, "Content-Type"), "application/json");
  EXPECT_EQ(value_of(out.head, "X-Request-Id"), "req-123");
  EXPECT_EQ(out.head.headers.count(HeaderId::kDate), 1u);
  EXPECT_EQ(out.head.headers.find(HeaderId::kConnection), nullptr);
  EXPECT_EQ(out.json.size(), 3u);
  EXPECT_EQ(out.json.value("error", ""), r.code);
  EXPECT_EQ(out.json.value("message", ""), default_message(r.error));
  EXPECT_EQ(out.json.value("request_id", ""), "req-123");
}

INSTANTIATE_TEST_SUITE_P(
    Spec, RenderErrorTest,
    testing::Values(ErrorRow{Error::kBadRequest, 400, "bad_request", "Bad Request"},
                    ErrorRow{Error::kNoRoute, 404, "no_route", "Not Found"},
                    ErrorRow{Error::kRateLimited, 429, "rate_limited", "Too Many Requests"},
                    ErrorRow{Error::kHeadersTooLarge, 431, "headers_too_large",
                             "Request Header Fields Too Large"},
                    ErrorRow{Error::kGatewayTimeout, 504, "gateway_timeout", "Gateway Timeout"}),
    [](const testing::TestParamInfo<ErrorRow>& info) { return info.param.code; });

TEST(RenderErrorTest, SpecExample) {
  Rendered out;
  parse_rendered(
      render_error(Error::kRateLimited, "rate limit exceeded", "abc", "", false, false), out);
  if (HasFatalFailure()) return;
  EXPECT_EQ(out.body,
            R"({"error":"rate_limited","message":"rate limit exceeded","request_id":"abc"})");
}

TEST(RenderErrorTest, ConnectionCloseWhenAsked) {
  Rendered out;
  parse_rendered(render_error(Error::kBadRequest, "", "r", "", true, false), out);
  if (HasFatalFailure()) return;
  EXPECT_FALSE(out.head.keep_alive);
  EXPECT_EQ(value_of(out.head, "Connection"), "close");
}

TEST(RenderErrorTest, ExtraHeadersKeptAsLines) {
  Rendered out;
  parse_rendered(render_error(Error::kMethodNotAllowed, "", "r",
                              "Allow: GET, HEAD\r\nRetry-After: 3\r\n", true, false),
                 out);
  if (HasFatalFailure()) return;
  EXPECT_EQ(out.head.status, 405);
  EXPECT_EQ(value_of(out.head, "Allow"), "GET, HEAD");
  EXPECT_EQ(value_of(out.head, "Retry-After"), "3");
  EXPECT_EQ(value_of(out.head, "Connection"), "close");
}

TEST(RenderErrorTest, EmptyRequestId) {
  Rendered out;
  parse_rendered(render_error(Error::kBadGateway, "", "", "", false, false), out);
  if (HasFatalFailure()) return;
  EXPECT_EQ(out.json.value("request_id", "x"), "");
}

// A response to HEAD is the head alone (RFC 9110 §9.3.2): it states the length a GET would have
// carried, and the next byte on the connection is the next response.
TEST(RenderErrorTest, HeadOnlyHasNoContent) {
  const std::string full = render_error(Error::kNoRoute, "", "r", "", false, false);
  const std::string head = render_error(Error::kNoRoute, "", "r", "", false, true);
  HeadScanner scanner;
  ASSERT_EQ(scanner.scan(head, 64 * 1024), HeadStatus::kComplete);
  EXPECT_EQ(scanner.length(), head.size());  // nothing after the blank line
  ResponseHead parsed;
  MessageParser parser(MessageParser::Kind::kResponse);
  ASSERT_EQ(parser.parse_response(head, /*request_was_head=*/true, parsed),
            HeadStatus::kComplete);
  EXPECT_EQ(parsed.framing, Framing::kNone);
  EXPECT_EQ(parsed.content_length, full.size() - head.size());  // what a GET would carry
}

// Messages are escaped so that the body stays JSON and reads back as the same text.
class RenderEscapingTest : public testing::TestWithParam<std::string> {};

TEST_P(RenderEscapingTest, MessageRoundTrips) {
  const std::string& message = GetParam();
  Rendered out;
  parse_rendered(render_error(Error::kBadRequest, message, "id-\"1\"", "", false, false), out);
  if (HasFatalFailure()) return;
  EXPECT_EQ(out.json.value("message", ""), message);
  EXPECT_EQ(out.json.value("request_id", ""), "id-\"1\"");
  // No raw control byte reaches the body.
  for (unsigned char c : out.body) EXPECT_GE(c, 0x20) << escape(out.body);
}

INSTANTIATE_TEST_SUITE_P(
    Table, RenderEscapingTest,
    testing::Values(std::string("plain"), std::string("quote \" inside"),
                    std::string("back\\slash"), std::string("line\nbreak\r\n"),
                    std::string("tab\there"), std::string("\x01\x02\x1f control"),
                    std::string("nul \0 byte", 10), std::string("</script>"),
                    std::string("caf\xc3\xa9 \xe2\x82\xac"), std::string("{\"json\":true}")),
    [](const testing::TestParamInfo<std::string>& info) {
      return test_names::indexed(info.param, info.index);
    });

TEST(AppendJsonEscapedTest, ExactOutput) {
  std::string out = "prefix:";
  append_json_escaped(out, "a\"b\\c\nd\re\tf\x01g\x1f");
  EXPECT_EQ(out, R"(prefix:a\"b\\c\nd\re\tf\u0001g\u001f)");
}

}  // namespace
}  // namespace turnpike::http
