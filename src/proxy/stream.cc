// Request and response bodies (see stream.h).
#include "proxy/stream.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "proxy/engine.h"
#include "proxy/forward.h"
#include "proxy/phases.h"

namespace turnpike::proxy {

using net::IoStatus;
using net::ScopedDeadline;
using net::Task;

bool make_room(net::BufferPool& pool, net::BufferRef& buffer, std::size_t max_capacity) {
  if (buffer->writable() > 0) return true;
  buffer->compact();
  if (buffer->writable() > 0) return true;
  if (buffer->capacity() >= max_capacity) return false;
  std::size_t capacity = std::min(max_capacity, buffer->capacity() * 2);
  net::BufferRef bigger = pool.acquire(capacity);
  std::memcpy(bigger->write_ptr(), buffer->read_ptr(), buffer->readable());
  bigger->commit(buffer->readable());
  buffer = std::move(bigger);
  return true;
}

Task<Failure> stream_request_body(Exchange& x) {
  const config::Upstream& spec = x.route->group->spec();
  while (!x.body_complete) {
    BodyPiece piece = co_await x.client.read_body(x, nullptr, nullptr);
    if (piece.failure != Failure::kNone) co_return piece.failure;
    iovec iov{const_cast<char*>(piece.data), piece.length};
    net::IoResult r;
    {
      ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.idle);
      r = co_await net::write_all(x.upstream->socket, &iov, 1);
    }
    x.client.consume_body(x, piece);
    if (!r.ok()) {
      Failure f = x.upstream_failure(r);
      if (f != Failure::kUpstreamReset) co_return f;
      // The upstream stopped reading; it may still have answered (e.g. 413). Read that answer;
      // the client's unread body means its connection cannot be reused.
      x.upstream_write_failed = true;
      x.close_after = true;
      co_return Failure::kNone;
    }
  }
  co_return Failure::kNone;
}

namespace {

// Where a response body piece goes and how it is framed for the client.
struct ResponseStream {
  Exchange& x;
  ResponseBody mode;
  uint64_t remaining = 0;  // Content-Length framing
  bool done = false;
  bool extra_bytes = false;  // the upstream sent more than this response: do not reuse
  char* dechunk_out = nullptr;

  static void dechunk_sink(void* self, const char* data, std::size_t length) {
    auto* s = static_cast<ResponseStream*>(self);
    std::memmove(s->dechunk_out, data, length);
    s->dechunk_out += length;
  }

  char size_line[24] = {};  // the current piece's chunk size line (re-chunking)

  // Adds the client-bound form of `data` to `out`; returns the bytes of `data` used.
  std::size_t frame(Slices& out, char* data, std::size_t length, bool& ok) {
    const http::ResponseHead& r = x.response;
    std::size_t used = length;
    switch (r.framing) {
      case http::Framing::kNone:
        used = 0;
        done = true;
        break;
      case http::Framing::kContentLength:
        used = static_cast<std::size_t>(std::min<uint64_t>(length, remaining));
        remaining -= used;
        done = remaining == 0;
        break;
      case http::Framing::kChunked: {
        char* start = data;
        dechunk_out = data;
        auto progress = x.response_parser.feed_chunked(
            data, length, mode == ResponseBody::kDechunk ? &dechunk_sink : nullptr, this);
        if (progress.error) {
          ok = false;
          return 0;
        }
        used = progress.consumed;
        done = progress.complete;
        if (mode == ResponseBody::kDechunk) {
          out.add(start, dechunk_out - start);
          extra_bytes = used < length;
          return used;
        }
        break;
      }
      case http::Framing::kUntilClose:
        break;
    }
    extra_bytes = extra_bytes || used < length;
    if (used == 0) return 0;
    if (mode == ResponseBody::kRechunk) {
      auto [end, ec] = std::to_chars(size_line, size_line + 16, used, 16);
      *end++ = '\r';
      *end++ = '\n';
      out.add(size_line, end - size_line);
      out.add(data, used);
      out.add("\r\n");
    } else {
      out.add(data, used);
    }
    return used;
  }
};

}  // namespace

// The upstream agreed to a WebSocket upgrade: its 101 goes to the client, then the connection
// is a tunnel for as long as both sides keep it (past the route's timeout: a tunnel has no
// length; it ends after timeouts.idle without a byte either way). It is never reused.
Task<Failure> stream_upgrade(Exchange& x) {
  x.status = 101;
  x.close_after = true;
  x.engine.timers().disarm(x.route_deadline);
  run_response_phase(x, 101);
  x.upstream_buffer->consume(x.response.length);  // the rest is the upstream's first bytes
  Slices none;
  x.client.attend(&x);
  if (Failure f = co_await x.client.send_head(x, ResponseBody::kAsIs, none); f != Failure::kNone) {
    co_return f;
  }
  // From here each side's end is the relay's to pass on, not a cancellation.
  x.client.attend(nullptr);
  x.cancel.clear();
  co_await x.client.tunnel(x, x.upstream->socket, x.upstream_buffer,
                           x.route->group->spec().timeouts.idle);
  x.upstream.reset();
  co_return Failure::kNone;
}

Task<Failure> stream_response(Exchange& x) {
  http::ResponseHead& r = x.response;
  const config::Upstream& spec = x.route->group->spec();
  if (r.status == 101) co_return co_await stream_upgrade(x);
  ResponseBody mode = x.client.response_body(x, r);
  x.status = r.status;

  ResponseStream stream{x, mode};
  stream.remaining = r.content_length;
  net::Buffer& buffer = *x.upstream_buffer;

  // The head, with the body bytes that came with it.
  run_response_phase(x, r.status);
  bool ok = true;
  Slices out;
  char* body = buffer.read_ptr() + r.length;
  std::size_t available = buffer.readable() - r.length;
  stream.frame(out, body, available, ok);
  if (!ok) co_return Failure::kUpstreamGarbage;
  if (stream.done && mode == ResponseBody::kRechunk) out.add("0\r\n\r\n");
  x.client.attend(&x);
  if (Failure f = co_await x.client.send_head(x, mode, out); f != Failure::kNone) co_return f;

  while (!stream.done) {
    buffer.clear();
    net::IoResult got;
    {
      ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.idle);
      got = co_await net::read_some(x.upstream->socket, buffer.write_ptr(), buffer.writable());
    }
    Slices piece;
    if (got.status == IoStatus::kEof && r.framing == http::Framing::kUntilClose) {
      stream.done = true;
      if (mode == ResponseBody::kRechunk) {
        piece.add("0\r\n\r\n");
        if (Failure f = co_await x.client.send_body(x, piece); f != Failure::kNone) co_return f;
      }
      break;
    }
    if (!got.ok()) co_return x.upstream_failure(got);
    buffer.commit(got.bytes);
    stream.frame(piece, buffer.read_ptr(), buffer.readable(), ok);
    if (!ok) co_return Failure::kUpstreamGarbage;
    if (stream.done && mode == ResponseBody::kRechunk) piece.add("0\r\n\r\n");
    if (piece.count() == 0) continue;
    if (Failure f = co_await x.client.send_body(x, piece); f != Failure::kNone) co_return f;
  }
  x.client.attend(nullptr);

  bool reusable = r.keep_alive && r.framing != http::Framing::kUntilClose && !stream.extra_bytes &&
                  !x.upstream_write_failed && !x.upstream->socket.hangup();
  x.cancel.clear();
  if (reusable) {
    x.engine.upstream_pool().put(std::move(x.upstream), spec.keepalive);
  } else {
    x.upstream.reset();
  }
  co_return Failure::kNone;
}

}  // namespace turnpike::proxy
