// The request path, top to bottom (SPEC §2.1, §4, §5):
//
//   wait for a request (no buffer while idle)
//   -> read the head (header_timeout, max_header_bytes) -> request id -> path -> route
//   -> route deadline, plugins (request phase) -> body limit -> builtin:echo, or the upstream
//      (upstream_exchange.cc):
//        pick a target -> pooled connection or connect -> send head + body
//        -> read the response head (retry where allowed) -> send head + body to the client
//   -> next request on the same connection
//
// Every wait has a deadline; an expired deadline aborts the socket it guards, and the step that
// was waiting turns the abort into the answer (408, 504) or a close.
#include "proxy/session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "http/errors.h"
#include "proxy/answer.h"
#include "proxy/echo.h"
#include "proxy/engine.h"
#include "proxy/exchange.h"
#include "proxy/forward.h"
#include "proxy/phases.h"
#include "proxy/record.h"
#include "proxy/stream.h"
#include "proxy/upstream_exchange.h"
#include "routing/path.h"
#include "routing/router.h"

namespace turnpike::proxy {

using http::Error;
using net::IoStatus;
using net::ScopedDeadline;
using net::Task;

// ---------------------------------------------------------------------------------------------
// Connection and exchange plumbing.

ClientConnection::ClientConnection(Engine& e, net::Socket s, const net::Address& p,
                                   const std::string& l)
    : engine(e), socket(std::move(s)), peer(p), listener(l), deadline(this, &on_deadline) {
  engine.attach(this);
  if (socket.valid()) socket.set_listener(this);
}

ClientConnection::~ClientConnection() { engine.detach(this); }

void ClientConnection::on_readiness(uint32_t events) {
  if (exchange && (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) exchange->cancel_for_client_gone();
}

void ClientConnection::on_deadline(void* self) {
  static_cast<ClientConnection*>(self)->socket.abort();
}

Exchange::Exchange(ClientConnection& c, LocalSnapshot::Pin pin)
    : client(c), engine(c.engine), snapshot(std::move(pin)),
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

Failure Exchange::client_failure() const {
  if (route_deadline.expired()) return Failure::kRouteTimeout;
  if (client.deadline.expired()) return Failure::kClientTimeout;
  return Failure::kClientGone;
}

void Exchange::on_upstream_deadline(void* self) { static_cast<Exchange*>(self)->cancel.interrupt(); }

void Exchange::on_route_deadline(void* self) {
  auto* x = static_cast<Exchange*>(self);
  x->cancel.cancel();
  x->client.socket.abort();
}

namespace {

const config::Limits& limits(const Exchange& x) { return x.snapshot->config->server.limits; }

// The router reads header conditions through this.
class RequestHeaders final : public routing::HeaderSource {
 public:
  explicit RequestHeaders(const http::HeaderList& headers) : headers_(headers) {}
  std::optional<std::string_view> get(std::string_view lower_name) const override {
    const http::Header* h = headers_.find(lower_name);
    if (!h) return std::nullopt;
    return h->value;
  }

 private:
  const http::HeaderList& headers_;
};



// ---------------------------------------------------------------------------------------------
// Reading the request head.

enum class HeadRead : uint8_t { kComplete, kClosed, kMalformed, kTooLarge, kTimeout };

Task<HeadRead> read_request_head(Exchange& x) {
  ClientConnection& c = x.client;
  if (!c.buffer) c.buffer = x.engine.buffers().acquire();
  const config::Limits& lim = limits(x);
  ScopedDeadline deadline(x.engine.timers(), c.deadline, lim.header_timeout);
  http::HeadScanner scanner;
  bool received = false;
  for (;;) {
    // Empty lines before a request line are skipped (RFC 9112 §2.2).
    while (c.buffer->readable() >= 2 && c.buffer->read_ptr()[0] == '\r' &&
           c.buffer->read_ptr()[1] == '\n') {
      c.buffer->consume(2);
    }
    if (c.buffer->readable() > 0) {
      received = true;
      switch (scanner.scan(c.buffer->view(), lim.max_header_bytes)) {
        case http::HeadStatus::kComplete:
          switch (x.request_parser.parse_request(c.buffer->view().substr(0, scanner.length()),
                                                 x.request)) {
            case http::HeadStatus::kComplete: co_return HeadRead::kComplete;
            case http::HeadStatus::kTooLarge: co_return HeadRead::kTooLarge;
            default: co_return HeadRead::kMalformed;
          }
        case http::HeadStatus::kMalformed: co_return HeadRead::kMalformed;
        case http::HeadStatus::kTooLarge: co_return HeadRead::kTooLarge;
        case http::HeadStatus::kIncomplete: break;
      }
    }
    if (!make_room(x.engine.buffers(), c.buffer, lim.max_header_bytes + 1)) {
      co_return HeadRead::kTooLarge;
    }
    net::IoResult r = co_await net::read_some(c.socket, c.buffer->write_ptr(),
                                              c.buffer->writable());
    if (r.status == IoStatus::kAborted && c.deadline.expired()) {
      // A connection that never sent a byte is closed quietly; a partial head gets 408.
      co_return received ? HeadRead::kTimeout : HeadRead::kClosed;
    }
    if (!r.ok()) co_return HeadRead::kClosed;
    c.buffer->commit(r.bytes);
  }
}

// ---------------------------------------------------------------------------------------------
// One request.

// The path sent upstream: strip_prefix, then the inline URL's base path.
void set_forwarded_path(Exchange& x, std::size_t strip_length) {
  const config::Upstream* spec = x.route->group ? &x.route->group->spec() : nullptr;
  std::string_view rest = x.path.substr(std::min(strip_length, x.path.size()));
  std::string_view base = spec ? std::string_view(spec->base_path) : std::string_view();
  if (base.empty() && !rest.empty() && rest.front() == '/') {
    x.forwarded_path = rest;
    return;
  }
  // Compose in scratch: base + "/" + rest without doubling slashes.
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

// Everything after the head: the answer, or the upstream's. Returns whether the connection may
// carry another request.
Task<bool> respond(Exchange& x, HeadRead head) {
  const config::Limits& lim = limits(x);
  // A head that could not be parsed is still answered as HEAD when its request line says so:
  // the answer to HEAD is the head alone (RFC 9110 §9.3.2).
  if (head != HeadRead::kComplete && x.client.buffer &&
      x.client.buffer->view().starts_with("HEAD ")) {
    x.request.is_head = true;
  }
  switch (head) {
    case HeadRead::kComplete: break;
    case HeadRead::kClosed: co_return false;
    case HeadRead::kMalformed:
      x.close_after = true;
      co_return co_await answer(x, Error::kBadRequest, x.request_parser.error()
                                                          ? x.request_parser.error()
                                                          : "malformed request");
    case HeadRead::kTooLarge:
      x.close_after = true;
      co_return co_await answer(x, Error::kHeadersTooLarge, "request head too large");
    case HeadRead::kTimeout:
      x.close_after = true;
      co_return co_await answer(x, Error::kRequestTimeout, "client too slow to send its head");
  }

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
  x.body_limit = lim.max_body_bytes;
  mark_request_fields(x);
  set_forwarded_path(x, match.strip_length);
  x.close_after = !x.request.keep_alive || x.engine.draining();

  co_return co_await serve_route(x);
}

Task<bool> handle_request(ClientConnection& c) {
  Exchange x(c, c.engine.pin());
  c.current = &x;
  struct Clear {
    ClientConnection& c;
    ~Clear() { c.current = c.exchange = nullptr; }
  } clear{c};
  x.started = net::Clock::now();
  HeadRead head = co_await read_request_head(x);
  if (head == HeadRead::kClosed) co_return false;
  ++c.requests;
  assign_request_id(x);
  x.peer_ip = c.peer.ip_string();
  if (head == HeadRead::kComplete) start_trace(x);

  bool keep_alive = co_await respond(x, head);
  record_request(x);

  // The request's bytes leave the client buffer; pipelined bytes after them stay.
  if (keep_alive && !x.head_consumed) c.buffer->consume(x.request.length + x.body_buffered);
  co_return keep_alive && !x.close_after && !x.engine.draining();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The connection loop.

Task<void> serve(Engine& engine, int fd, net::Address peer, const std::string& listener) {
  ClientConnection client(engine, net::Socket(engine.loop(), fd), peer, listener);
  if (!client.socket.valid()) co_return;
  for (;;) {
    if (!client.buffer || client.buffer->readable() == 0) {
      // Idle: give the buffer back and wait for the next request's first byte.
      client.buffer.reset();
      if (engine.draining()) break;
      net::Duration wait;
      {
        const config::Limits& lim = engine.pin()->config->server.limits;
        wait = client.requests == 0 ? lim.header_timeout : lim.idle_timeout;
      }
      ScopedDeadline deadline(engine.timers(), client.deadline, wait);
      client.idle = true;
      bool ready = co_await client.socket.readable();
      client.idle = false;
      if (!ready) break;
    }
    if (!co_await handle_request(client)) break;
  }
}

}  // namespace turnpike::proxy
