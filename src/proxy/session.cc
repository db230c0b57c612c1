// The request path, top to bottom (SPEC §2.1, §4, §5):
//
//   wait for a request (no buffer while idle)
//   -> read the head (header_timeout, max_header_bytes) -> request id -> path -> route
//   -> body limits -> builtin:echo, or the upstream:
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
#include "observe/log.h"
#include "proxy/answer.h"
#include "proxy/echo.h"
#include "proxy/engine.h"
#include "proxy/exchange.h"
#include "proxy/forward.h"
#include "proxy/record.h"
#include "proxy/stream.h"
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
  if (upstream_socket) upstream_socket->abort();
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

void Exchange::on_upstream_deadline(void* self) {
  auto* x = static_cast<Exchange*>(self);
  if (x->upstream_socket) x->upstream_socket->abort();
}

void Exchange::on_route_deadline(void* self) {
  auto* x = static_cast<Exchange*>(self);
  if (x->upstream_socket) x->upstream_socket->abort();
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
// The upstream exchange.

bool idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE" || method == "TRACE";
}

bool retry_allowed_on(const config::Retries& retries, config::RetryOn what) {
  return std::find(retries.on.begin(), retries.on.end(), what) != retries.on.end();
}

// A pooled connection to the target, or a new one (connect timeout).
Task<Failure> open_upstream(Exchange& x, const upstream::Target& target) {
  const config::Upstream& spec = x.route->group->spec();
  if (auto pooled = x.engine.upstream_pool().take(target.pool_id)) {
    x.upstream = std::move(pooled);
    x.upstream_reused = true;
    x.upstream_socket = &x.upstream->socket;
    co_return Failure::kNone;
  }
  x.upstream_reused = false;
  net::Socket socket;
  x.upstream_socket = &socket;
  ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.connect);
  net::IoResult r = co_await net::connect(x.engine.loop(), target.endpoint.get(),
                                          target.endpoint.length, socket);
  x.upstream_socket = nullptr;
  if (!r.ok()) {
    if (x.client_gone) co_return Failure::kClientGone;
    if (x.route_deadline.expired()) co_return Failure::kRouteTimeout;
    co_return x.upstream_deadline.expired() ? Failure::kConnectTimeout : Failure::kConnectFailed;
  }
  x.upstream = std::make_unique<UpstreamConnection>(std::move(socket), target.pool_id,
                                                    x.engine.metrics());
  x.upstream_socket = &x.upstream->socket;
  if (observe::log_enabled(observe::Level::kDebug)) debug_upstream_opened(x, target);
  co_return Failure::kNone;
}

// Sends the head with whatever body arrived with it, then streams the rest of the body.
Task<Failure> send_request(Exchange& x, const upstream::Target& target) {
  const config::Upstream& spec = x.route->group->spec();
  // The forwarded head is at most the client's head plus the paths and the added fields.
  HeadWriter w(head_buffer(x, x.request.length + 2 * x.forwarded_path.size() + x.peer_ip.size() +
                                  x.host.size() + 512));
  write_upstream_head(x, w, target.address);
  if (!w.ok()) co_return Failure::kUpstreamGarbage;
  Slices out;
  out.add(w.text());
  out.add(x.client.buffer->read_ptr() + x.request.length, x.body_buffered);
  ++x.upstream->requests;
  net::IoResult r;
  {
    ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.idle);
    r = co_await net::write_all(x.upstream->socket, out.iov(), out.count());
  }
  if (!r.ok()) co_return x.upstream_failure(r);
  if (x.body_complete) co_return Failure::kNone;
  // The rest of the body streams through; from here on the request cannot be replayed.
  x.replayable = false;
  co_return co_await stream_request_body(x);
}

// Reads the response head, skipping interim (1xx) responses.
Task<Failure> read_response_head(Exchange& x) {
  const config::Upstream& spec = x.route->group->spec();
  if (!x.upstream_buffer) x.upstream_buffer = x.engine.buffers().acquire();
  net::Buffer& buffer = *x.upstream_buffer;
  buffer.clear();
  ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.response_header);
  // The client hanging up from here on cancels the exchange.
  x.client.exchange = &x;
  if (x.client.socket.hangup()) co_return Failure::kClientGone;
  http::HeadScanner scanner;
  constexpr std::size_t kMaxResponseHead = 64 * 1024;
  for (;;) {
    if (buffer.readable() > 0) {
      switch (scanner.scan(buffer.view(), kMaxResponseHead)) {
        case http::HeadStatus::kComplete: {
          auto status = x.response_parser.parse_response(buffer.view().substr(0, scanner.length()),
                                                         x.request.is_head, x.response);
          if (status != http::HeadStatus::kComplete) co_return Failure::kUpstreamGarbage;
          if (x.response.status >= 100 && x.response.status < 200) {
            if (x.response.status == 101) co_return Failure::kUpstreamGarbage;  // no upgrade asked
            buffer.consume(scanner.length());
            scanner.reset();
            continue;
          }
          co_return Failure::kNone;
        }
        case http::HeadStatus::kIncomplete: break;
        default: co_return Failure::kUpstreamGarbage;
      }
    }
    if (!make_room(x.engine.buffers(), x.upstream_buffer, kMaxResponseHead + 1)) {
      co_return Failure::kUpstreamGarbage;
    }
    net::IoResult r = co_await net::read_some(x.upstream->socket, x.upstream_buffer->write_ptr(),
                                              x.upstream_buffer->writable());
    if (!r.ok()) {
      if (r.status == IoStatus::kEof && x.upstream_buffer->readable() > 0) {
        co_return Failure::kUpstreamGarbage;
      }
      co_return x.upstream_failure(r);
    }
    x.upstream_buffer->commit(r.bytes);
  }
}

// Retries (SPEC §2 upstream `retries`): idempotent methods, replayable bodies, listed causes.
bool may_retry(const Exchange& x, Failure f, uint16_t status, uint32_t attempts_left) {
  if (attempts_left == 0 || !x.replayable || !idempotent(x.request.method)) return false;
  const config::Retries& retries = x.route->group->spec().retries;
  switch (f) {
    case Failure::kConnectFailed:
    case Failure::kConnectTimeout:
      return retry_allowed_on(retries, config::RetryOn::kConnectFailure);
    case Failure::kNone:
      return (status == 502 && retry_allowed_on(retries, config::RetryOn::k502)) ||
             (status == 503 && retry_allowed_on(retries, config::RetryOn::k503)) ||
             (status == 504 && retry_allowed_on(retries, config::RetryOn::k504));
    case Failure::kUpstreamTimeout:
      return retry_allowed_on(retries, config::RetryOn::k504);
    default:
      return false;
  }
}

// A pooled connection the upstream had already given up on: safe to resend on a new one when
// the request is replayable and nothing of a response arrived.
bool stale_connection(const Exchange& x, Failure f) {
  return x.upstream_reused && x.replayable && f == Failure::kUpstreamReset &&
         (!x.upstream_buffer || x.upstream_buffer->readable() == 0);
}

Task<bool> proxy_to_upstream(Exchange& x) {
  if (Failure f = note_buffered_body(x); f != Failure::kNone) {
    co_return co_await answer_failure(x, f);
  }
  upstream::Group& group = *x.route->group;
  uint32_t attempts_left = idempotent(x.request.method) ? group.spec().retries.attempts : 0;
  bool stale_retried = false;
  Failure f = Failure::kNone;
  for (;;) {
    const upstream::Target& target = group.pick(x.engine.worker().index());
    if (!x.target) x.upstream_started = net::Clock::now();
    x.target = &target;
    f = co_await open_upstream(x, target);
    if (f == Failure::kNone) f = co_await send_request(x, target);
    if (f == Failure::kNone) f = co_await read_response_head(x);
    x.client.exchange = nullptr;
    record_attempt(x, target, f);
    if (f != Failure::kNone && !stale_retried && stale_connection(x, f)) {
      if (observe::log_enabled(observe::Level::kDebug)) debug_retry(x, target, f, "stale");
      stale_retried = true;
      x.upstream.reset();
      continue;
    }
    if (may_retry(x, f, f == Failure::kNone ? x.response.status : 0, attempts_left)) {
      if (observe::log_enabled(observe::Level::kDebug)) debug_retry(x, target, f, "retries");
      --attempts_left;
      x.upstream.reset();
      x.upstream_socket = nullptr;
      continue;
    }
    break;
  }
  if (f != Failure::kNone) co_return co_await answer_failure(x, f);

  f = co_await stream_response(x);
  x.upstream_finished = net::Clock::now();
  x.client.exchange = nullptr;
  x.upstream_socket = nullptr;
  if (f != Failure::kNone) co_return co_await answer_failure(x, f);
  co_return !x.close_after;
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

// Everything after the head: the answer, or the upstream's. Returns whether the connection may
// carry another request.
Task<bool> respond(Exchange& x, HeadRead head) {
  const config::Limits& lim = limits(x);
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

  if (x.request.framing == http::Framing::kContentLength &&
      x.request.content_length > lim.max_body_bytes) {
    co_return co_await answer(x, Error::kPayloadTooLarge, "request body too large");
  }
  mark_request_fields(x);
  set_forwarded_path(x, match.strip_length);
  x.close_after = !x.request.keep_alive || x.engine.draining();

  if (x.route->spec->timeout) {
    x.engine.timers().arm(x.route_deadline, *x.route->spec->timeout);
  }
  bool keep_alive = x.route->echo ? co_await serve_echo(x) : co_await proxy_to_upstream(x);
  x.engine.timers().disarm(x.route_deadline);
  co_return keep_alive;
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
