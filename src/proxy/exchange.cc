// The protocol-neutral exchange (SPEC §2.1, §3, §4, §5):
//
//   target split and path normalization -> route -> route deadline, plugins (request phase)
//   -> body limit -> builtin:echo, or the upstream (upstream_exchange.cc):
//        pick a target -> pooled connection or connect -> send head + body
//        -> read the response head (retry where allowed) -> response phase -> head + body to
//           the client (stream.cc)
//
// Whatever the client protocol, the exchange reaches its client only through x.client (a
// ClientStream). Every wait has a deadline; an expired deadline aborts what it guards, and the
// step that was waiting turns the abort into the answer (408, 504) or a close.
#include "proxy/exchange.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "http/errors.h"
#include "proxy/answer.h"
#include "proxy/echo.h"
#include "proxy/engine.h"
#include "proxy/forward.h"
#include "proxy/phases.h"
#include "proxy/upstream_exchange.h"
#include "routing/path.h"
#include "routing/router.h"

namespace turnpike::proxy {

using http::Error;
using net::IoStatus;
using net::Task;

Exchange::Exchange(ClientStream& c, Engine& e, LocalSnapshot::Pin pin)
    : client(c), engine(e), snapshot(std::move(pin)),
      upstream_deadline(this, &on_upstream_deadline), route_deadline(this, &on_route_deadline) {}

void Exchange::cancel_for_client_gone() {
  client_gone = true;
  cancel.cancel();
}

Failure Exchange::upstream_failure(const net::IoResult& r) const {
  if (client_gone) return Failure::kClientGone;
  if (route_deadline.expired()) return Failure::kRouteTimeout;
  if (r.status == IoStatus::kAborted && upstream_deadline.expired()) {
    return Failure::kUpstreamTimeout;
  }
  return Failure::kUpstreamReset;
}

void Exchange::on_upstream_deadline(void* self) { static_cast<Exchange*>(self)->cancel.interrupt(); }

void Exchange::on_route_deadline(void* self) {
  auto* x = static_cast<Exchange*>(self);
  x->cancel.cancel();
  x->client.interrupt();
}

namespace {

// The path sent upstream: strip_prefix, then the inline URL's base path.
void set_forwarded_path(Exchange& x, std::size_t strip_length) {
  const config::Upstream* spec = x.route->group ? &x.route->group->spec() : nullptr;
  std::string_view rest = x.path.substr(std::min(strip_length, x.path.size()));
  std::string_view base = spec ? std::string_view(spec->base_path) : std::string_view();
  if (base.empty() && !rest.empty() && rest.front() == '/') {
    x.forwarded_path = rest;
    return;
  }
  // Compose in scratch (sized for twice the path plus the base): base + "/" + rest without
  // doubling slashes.
  net::Buffer& s = *x.scratch;
  char* begin = s.write_ptr();
  auto append = [&](std::string_view t) {
    std::size_t n = std::min(t.size(), s.writable());
    std::memcpy(s.write_ptr(), t.data(), n);
    s.commit(n);
  };
  if (!base.empty() && base.back() == '/') base.remove_suffix(1);
  append(base);
  if (rest.empty() || rest.front() != '/') append("/");
  append(rest);
  x.forwarded_path = std::string_view(begin, s.write_ptr() - begin);
}

// The route's part of a request: its deadline over the whole exchange, its plugins' request
// phase (SPEC §3 order: it may refuse, answer, wait, lower the body limit, edit headers), the
// body limit, then builtin:echo or the upstream.
Task<bool> serve_route(Exchange& x) {
  struct Disarm {
    Exchange& x;
    ~Disarm() { x.engine.timers().disarm(x.route_deadline); }
  } disarm{x};
  if (x.route->spec->timeout) x.engine.timers().arm(x.route_deadline, *x.route->spec->timeout);

  if (!x.route->plugins.empty()) {
    plugins::Verdict v = run_request_phase(x);
    if (v.kind == plugins::Verdict::Kind::kWait) {
      v = co_await finish_request_phase(x);
      if (Failure f = wait_failure(x); f != Failure::kNone) co_return co_await answer_failure(x, f);
    }
    if (v.kind == plugins::Verdict::Kind::kRefuse) co_return co_await answer(x, v.error, v.message);
    if (v.kind == plugins::Verdict::Kind::kAnswer) {
      co_return co_await write_answer(x, v.status, {}, {}, {});
    }
  }
  if (x.request.framing == http::Framing::kContentLength &&
      x.request.content_length > x.body_limit) {
    co_return co_await answer(x, Error::kPayloadTooLarge, "request body too large");
  }
  // (Not a conditional expression: GCC 12 mis-compiles co_await in both arms of one.)
  if (x.route->echo) co_return co_await serve_echo(x);
  co_return co_await proxy_to_upstream(x);
}

}  // namespace

Task<bool> run_exchange(Exchange& x) {
  if (const char* why = split_target(x)) co_return co_await answer(x, Error::kBadRequest, why);
  x.scratch = x.engine.buffers().acquire(2 * x.raw_path.size() + 1024);
  // Normalized into a per-thread string that keeps its capacity, then kept in scratch.
  thread_local std::string path;
  routing::PathStatus path_status = routing::normalize_path(x.raw_path, path);
  if (path_status != routing::PathStatus::kOk) {
    co_return co_await answer(x, Error::kBadRequest, routing::to_string(path_status));
  }
  std::memcpy(x.scratch->write_ptr(), path.data(), path.size());
  x.path = std::string_view(x.scratch->write_ptr(), path.size());
  x.scratch->commit(path.size());

  RequestHeaders headers(x.request.headers);
  routing::RouteMatch match =
      x.snapshot->router->match({x.request.method, x.host, x.path, &headers});
  if (match.status == 404) co_return co_await answer(x, Error::kNoRoute, "no route matches");
  if (match.status == 405) {
    std::string allow = "Allow: " + match.allow + "\r\n";
    co_return co_await answer(x, Error::kMethodNotAllowed, "method not allowed", allow);
  }
  x.route = &x.snapshot->routes[match.route];
  x.body_limit = x.snapshot->config->server.limits.max_body_bytes;
  mark_request_fields(x);
  set_forwarded_path(x, match.strip_length);
  x.close_after = !x.request.keep_alive || x.engine.draining();
  // A WebSocket upgrade is a GET without a body; anything else asking to upgrade is served as a
  // plain request (its Upgrade field is hop-by-hop and not forwarded).
  x.upgrade = x.request.websocket && x.request.method == "GET" &&
              x.request.framing == http::Framing::kNone;

  co_return co_await serve_route(x);
}

}  // namespace turnpike::proxy
