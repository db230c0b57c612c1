// The upstream side of an exchange (SPEC §2 upstreams, §4): pick a target, reuse a pooled
// connection or connect, send the head and body, read the response head, retry where allowed,
// then stream the response to the client.
#include "proxy/upstream_exchange.h"

#include <algorithm>

#include "observe/log.h"
#include "proxy/answer.h"
#include "proxy/engine.h"
#include "proxy/forward.h"
#include "proxy/record.h"
#include "proxy/stream.h"

namespace turnpike::proxy {

using net::IoStatus;
using net::ScopedDeadline;
using net::Task;

namespace {

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
  // Nothing new is started for an exchange that is over (client gone, route deadline passed).
  if (x.cancel.cancelled()) co_return x.client_gone ? Failure::kClientGone : Failure::kRouteTimeout;
  if (auto pooled = x.engine.upstream_pool().take(target.pool_id)) {
    x.upstream = std::move(pooled);
    x.upstream_reused = true;
    x.cancel.watch(x.upstream->socket);
    co_return Failure::kNone;
  }
  x.upstream_reused = false;
  net::Socket socket;
  x.cancel.watch(socket);
  ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.connect);
  net::IoResult r = co_await net::connect(x.engine.loop(), target.endpoint.get(),
                                          target.endpoint.length, socket);
  x.cancel.clear();
  if (!r.ok()) {
    if (x.client_gone) co_return Failure::kClientGone;
    if (x.route_deadline.expired()) co_return Failure::kRouteTimeout;
    co_return x.upstream_deadline.expired() ? Failure::kConnectTimeout : Failure::kConnectFailed;
  }
  x.upstream = std::make_unique<UpstreamConnection>(std::move(socket), target.pool_id,
                                                    x.engine.metrics());
  x.cancel.watch(x.upstream->socket);
  if (observe::log_enabled(observe::Level::kDebug)) debug_upstream_opened(x, target);
  co_return Failure::kNone;
}

// Sends the head with whatever body arrived with it, then streams the rest of the body.
Task<Failure> send_request(Exchange& x, const upstream::Target& target) {
  const config::Upstream& spec = x.route->group->spec();
  // The forwarded head is at most the client's head plus the paths and the added fields.
  HeadWriter w(head_buffer(x, x.request.length + 2 * x.forwarded_path.size() + x.peer_ip.size() +
                                  2 * x.host.size() + edit_bytes(x.plugins, true) + 512));
  write_upstream_head(x, w, target.address);
  if (!w.ok()) co_return Failure::kUpstreamGarbage;
  Slices out;
  out.add(w.text());
  out.add(x.client.early_body(x));
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
  x.client.attend(&x);
  if (x.client.gone()) co_return Failure::kClientGone;
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
            if (x.response.status == 101) {
              // Switching protocols is an answer only to an upgrade the gateway forwarded.
              co_return x.upgrade ? Failure::kNone : Failure::kUpstreamGarbage;
            }
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

// The target's side of an attempt's outcome (the client's doing counts for nothing).
void note_outcome(const upstream::Lease& lease, Failure f) {
  switch (f) {
    case Failure::kNone: lease.succeeded(); break;
    case Failure::kConnectFailed:
    case Failure::kConnectTimeout:
    case Failure::kUpstreamReset:
    case Failure::kUpstreamGarbage:
    case Failure::kUpstreamTimeout: lease.failed(); break;
    default: break;
  }
}

}  // namespace

Task<bool> proxy_to_upstream(Exchange& x) {
  if (Failure f = x.client.take_early_body(x, nullptr, nullptr); f != Failure::kNone) {
    co_return co_await answer_failure(x, f);
  }
  upstream::Group& group = *x.route->group;
  uint32_t attempts_left = idempotent(x.request.method) ? group.spec().retries.attempts : 0;
  bool stale_retried = false;
  upstream::Tried tried;  // a retry goes to another target while there is a usable one
  Failure f = Failure::kNone;
  for (;;) {
    x.lease = group.pick(x.engine.worker().index(), tried);
    if (!x.lease) {
      f = Failure::kNoTarget;
      break;
    }
    const upstream::Target& target = *x.lease;
    if (!x.target) x.upstream_started = net::Clock::now();
    x.target = &target;
    f = co_await open_upstream(x, target);
    if (f == Failure::kNone) f = co_await send_request(x, target);
    if (f == Failure::kNone) f = co_await read_response_head(x);
    x.client.attend(nullptr);
    record_attempt(x, target, f);
    if (f != Failure::kNone && !stale_retried && stale_connection(x, f)) {
      // The pooled connection had been closed by the target: not the target's failure, and the
      // same target is fine for the retry.
      if (observe::log_enabled(observe::Level::kDebug)) debug_retry(x, target, f, "stale");
      stale_retried = true;
      x.cancel.clear();
      x.upstream.reset();
      continue;
    }
    note_outcome(x.lease, f);
    tried.add(group.index_of(target));
    if (may_retry(x, f, f == Failure::kNone ? x.response.status : 0, attempts_left)) {
      if (observe::log_enabled(observe::Level::kDebug)) debug_retry(x, target, f, "retries");
      --attempts_left;
      x.cancel.clear();
      x.upstream.reset();
      continue;
    }
    break;
  }
  if (f != Failure::kNone) co_return co_await answer_failure(x, f);

  f = co_await stream_response(x);
  x.upstream_finished = net::Clock::now();
  x.client.attend(nullptr);
  x.cancel.clear();
  if (f != Failure::kNone) co_return co_await answer_failure(x, f);
  co_return !x.close_after;
}

}  // namespace turnpike::proxy
