// Fuzz target: a request head the way the gateway takes it in and sends it on (SPEC §2.1, §4):
// bytes -> HeadScanner -> MessageParser -> split_target -> normalize_path -> Router::match ->
// mark_request_fields -> write_request_head. Whatever the bytes, the forwarded head parses again,
// carries exactly one framing field that frames the same body, goes to the normalized path, and
// adds at most the gateway's own six fields (Host, X-Forwarded-For/-Proto/-Host, X-Request-Id,
// traceparent).
#include <algorithm>
#include <memory>
#include <string>

#include "config/loader.h"
#include "observe/trace.h"
#include "routing/path.h"
#include "routing/pattern.h"
#include "routing/router.h"
#include "written_head.h"

namespace {

using namespace turnpike;
using fuzz::check;
using fuzz::kMaxHead;

constexpr std::size_t kAddedFields = 6;

// Every kind of route condition, so that matching and strip_prefix run on what the bytes hold.
constexpr char kRoutes[] = R"(
routes:
  - name: users
    hosts: [api.example.com, "*.example.com"]
    paths: ["/api/v1/users/**"]
    strip_prefix: true
    upstream: "http://127.0.0.1:9001"
  - {name: user, paths: ["/users/{id}", "/users/{id}/orders/*"], methods: [GET, PUT],
     upstream: "http://127.0.0.1:9001"}
  - {name: v2, paths: ["/v/**"], headers: {X-Version: "2"}, strip_prefix: true,
     upstream: "http://127.0.0.1:9001"}
  - {name: re, regex: '^/v2/(users|orders)/\d+$', upstream: "http://127.0.0.1:9001"}
  - {name: root, paths: ["/"], upstream: "http://127.0.0.1:9001"}
)";

const routing::Router& router() {
  static const routing::Router* built = [] {
    config::LoadOptions options;
    options.path_pattern_error = routing::pattern_error;
    static config::LoadResult loaded = config::load_string(kRoutes, options);
    check(loaded.config.has_value(), "the fuzz target's routes load");
    std::vector<config::ConfigError> errors;
    return routing::Router::build(loaded.config->routes, errors).release();
  }();
  return *built;
}

// The path sent upstream after strip_prefix (as exchange.cc composes it without a base path).
std::string forwarded_path(const std::string& path, const routing::RouteMatch& match) {
  std::string rest = match.status == 200 ? path.substr(std::min(match.strip_length, path.size()))
                                         : path;
  if (rest.empty() || rest.front() != '/') rest.insert(0, "/");
  return rest;
}

std::size_t field_lines(std::string_view head) {
  std::size_t lines = 0;
  for (std::size_t at = head.find("\r\n"); at != std::string_view::npos;
       at = head.find("\r\n", at + 2)) {
    ++lines;
  }
  return lines - 2;  // the request line and the blank line
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view in = fuzz::as_text(data, size);
  http::HeadScanner scanner;
  if (scanner.scan(in, kMaxHead) != http::HeadStatus::kComplete) return 0;
  auto request = std::make_unique<http::RequestHead>();
  http::MessageParser parser(http::MessageParser::Kind::kRequest);
  if (parser.parse_request(in.substr(0, scanner.length()), *request) !=
      http::HeadStatus::kComplete) {
    return 0;
  }
  proxy::RequestTarget target;
  if (proxy::split_target(*request, target) != nullptr) return 0;
  std::string path;
  if (routing::normalize_path(target.raw_path, path) != routing::PathStatus::kOk) return 0;

  proxy::RequestHeaders headers(request->headers);
  routing::RouteMatch match = router().match({request->method, target.host, path, &headers});
  const std::string upstream_path = forwarded_path(path, match);

  observe::TraceContext trace;
  const http::Header* sent_trace = request->headers.find(http::HeaderId::kTraceparent);
  bool continued = sent_trace && observe::parse_traceparent(sent_trace->value, trace);
  proxy::mark_request_fields(*request, continued);

  proxy::ForwardedRequest f;
  f.path = upstream_path;
  f.query = target.query;
  f.has_query = target.has_query;
  f.host = target.host.empty() ? std::string_view("fallback.example") : target.host;
  f.peer_ip = "192.0.2.7";
  f.peer_trusted = size % 2 == 0;
  f.request_id = fuzz::kRequestId;
  f.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  f.upgrade = request->websocket;
  // The client's fields, its X-Forwarded-For again and the path: within three head limits.
  const std::string sent = fuzz::written_head(
      3 * kMaxHead, [&](proxy::HeadWriter& w) { proxy::write_request_head(*request, f, w); });
  const std::size_t fields = field_lines(sent);
  check(fields <= request->headers.size() + kAddedFields,
        "the gateway adds at most its own six fields");
  // A client may send 100 fields (the parser's limit) and the forwarded head then holds up to
  // 106: see docs/architecture.md, Hardening. Only heads within the limit can be parsed back.
  if (fields > http::HeaderList::kCapacity) return 0;

  auto back = std::make_unique<http::RequestHead>();
  http::MessageParser reparser(http::MessageParser::Kind::kRequest);
  check(reparser.parse_request(sent, *back) == http::HeadStatus::kComplete,
        "the forwarded head parses");
  check(back->method == request->method, "the method is kept");
  std::string expected_target = upstream_path;
  if (target.has_query) expected_target += "?" + std::string(target.query);
  check(back->target == expected_target, "the target is the forwarded path and query");
  check(back->headers.count(http::HeaderId::kHost) == 1, "exactly one Host");
  check(back->headers.count(http::HeaderId::kContentLength) +
                back->headers.count(http::HeaderId::kTransferEncoding) <=
            1,
        "at most one framing field");
  check(back->framing == request->framing, "the forwarded body is framed as it came");
  check(back->content_length == request->content_length, "the same Content-Length");
  std::string renormalized;
  check(routing::normalize_path(upstream_path, renormalized) == routing::PathStatus::kOk &&
            renormalized == upstream_path,
        "the forwarded path is normalized");
  return 0;
}
