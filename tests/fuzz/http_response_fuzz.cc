// Fuzz target: an upstream's response head on its way to the client (SPEC §4): bytes ->
// HeadScanner -> MessageParser -> write_response_head, with the body mode and connection decision
// the HTTP/1 codec would make for an HTTP/1.1 or HTTP/1.0 client (the first byte chooses the
// client and whether the request was HEAD). The client-bound head parses again with the same
// status, at most one framing field, and a framing that delimits the body the client gets.
#include <memory>

#include "written_head.h"

namespace {

using namespace turnpike;
using fuzz::check;
using fuzz::kMaxHead;
using http::Framing;
using proxy::ResponseBody;

// The body the client receives, as http1_connection.cc's response_body() decides it.
ResponseBody body_mode(Framing framing, bool client_http10) {
  if (framing == Framing::kChunked && client_http10) return ResponseBody::kDechunk;
  if (framing == Framing::kUntilClose && !client_http10) return ResponseBody::kRechunk;
  return ResponseBody::kAsIs;
}

// The framing the client reads from the written head.
Framing client_framing(Framing upstream, ResponseBody mode) {
  if (mode == ResponseBody::kDechunk) return Framing::kUntilClose;
  if (mode == ResponseBody::kRechunk) return Framing::kChunked;
  return upstream;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const uint8_t flags = data[0];
  const bool request_was_head = flags & 1;
  const bool client_http10 = flags & 2;
  std::string_view in = fuzz::as_text(data + 1, size - 1);

  http::HeadScanner scanner;
  if (scanner.scan(in, kMaxHead) != http::HeadStatus::kComplete) return 0;
  auto response = std::make_unique<http::ResponseHead>();
  http::MessageParser parser(http::MessageParser::Kind::kResponse);
  if (parser.parse_response(in.substr(0, scanner.length()), request_was_head, *response) !=
      http::HeadStatus::kComplete) {
    return 0;
  }
  const Framing upstream_framing = response->framing;
  const ResponseBody mode = body_mode(upstream_framing, client_http10);

  proxy::ForwardedResponse f;
  f.body = mode;
  f.request_id = fuzz::kRequestId;
  f.close = client_http10 && upstream_framing != Framing::kContentLength;
  f.client_http10 = client_http10;
  f.upgrade = flags & 4 && response->status == 101;
  const std::string sent = fuzz::written_head(
      2 * kMaxHead, [&](proxy::HeadWriter& w) { proxy::write_response_head(*response, f, w); });
  auto back = std::make_unique<http::ResponseHead>();
  http::MessageParser reparser(http::MessageParser::Kind::kResponse);
  if (reparser.parse_response(sent, request_was_head, *back) == http::HeadStatus::kTooLarge) {
    return 0;  // the upstream sent 100 fields and the gateway added X-Request-Id
  }
  check(back->length == sent.size(), "the client-bound head parses");
  check(back->status == response->status, "the status is kept");
  check(back->headers.count(http::HeaderId::kContentLength) +
                back->headers.count(http::HeaderId::kTransferEncoding) <=
            1,
        "at most one framing field");
  check(back->framing == client_framing(upstream_framing, mode),
        "the client reads the body in the framing the gateway sends it in");
  if (upstream_framing == Framing::kContentLength) {
    check(back->content_length == response->content_length, "the same Content-Length");
  }
  return 0;
}
