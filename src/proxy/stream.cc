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

namespace {

const config::Limits& limits(const Exchange& x) { return x.snapshot->config->server.limits; }

Task<net::IoResult> write_to_client(Exchange& x, iovec* iov, int count) {
  ScopedDeadline deadline(x.engine.timers(), x.client.deadline, limits(x).idle_timeout);
  net::IoResult r = co_await net::write_all(x.client.socket, iov, count);
  x.bytes_out += r.bytes;
  co_return r;
}

// Counts CL payload and hands it to the sink; the chunked path counts in the parser.
std::size_t take_content_length(Exchange& x, const char* data, std::size_t available,
                                http::BodySink sink, void* sink_context) {
  uint64_t remaining = x.request.content_length - x.body_received;
  std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(available, remaining));
  if (sink && take > 0) sink(sink_context, data, take);
  x.body_received += take;
  x.body_complete = x.body_received == x.request.content_length;
  return take;
}

}  // namespace

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

Failure note_buffered_body(Exchange& x, http::BodySink sink, void* sink_context) {
  const http::RequestHead& r = x.request;
  const char* body = x.client.buffer->read_ptr() + r.length;
  std::size_t after_head = x.client.buffer->readable() - r.length;
  switch (r.framing) {
    case http::Framing::kNone:
    case http::Framing::kUntilClose:
      x.body_complete = true;
      x.body_buffered = 0;
      break;
    case http::Framing::kContentLength:
      x.body_buffered = take_content_length(x, body, after_head, sink, sink_context);
      break;
    case http::Framing::kChunked: {
      auto progress = x.request_parser.feed_chunked(body, after_head, sink, sink_context);
      if (progress.error) return Failure::kBadRequestBody;
      x.body_buffered = progress.consumed;
      x.body_received = x.request_parser.chunked_payload_bytes();
      x.body_complete = progress.complete;
      if (x.body_received > x.body_limit) return Failure::kBodyTooLarge;
      break;
    }
  }
  x.replayable = x.body_complete;
  return Failure::kNone;
}

Task<BodyPiece> read_body_piece(Exchange& x, http::BodySink sink, void* sink_context) {
  ClientConnection& c = x.client;
  if (x.request.expect_continue && !x.continue_sent && x.request.version_minor == 1) {
    x.continue_sent = true;
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    iovec iov{const_cast<char*>(kContinue), sizeof(kContinue) - 1};
    ScopedDeadline deadline(x.engine.timers(), c.deadline, limits(x).idle_timeout);
    net::IoResult r = co_await net::write_all(c.socket, &iov, 1);
    if (!r.ok()) co_return BodyPiece{nullptr, 0, x.client_failure()};
  }
  if (!x.head_consumed) {
    // The head and the body bytes that came with it have been handled.
    c.buffer->consume(x.request.length + x.body_buffered);
    x.head_consumed = true;
  }
  if (c.buffer->readable() == 0) {
    c.buffer->clear();
    ScopedDeadline deadline(x.engine.timers(), c.deadline, limits(x).idle_timeout);
    net::IoResult r = co_await net::read_some(c.socket, c.buffer->write_ptr(),
                                              c.buffer->writable());
    if (!r.ok()) co_return BodyPiece{nullptr, 0, x.client_failure()};
    c.buffer->commit(r.bytes);
  }
  const char* data = c.buffer->read_ptr();
  std::size_t available = c.buffer->readable();
  if (x.request.framing == http::Framing::kContentLength) {
    co_return BodyPiece{data, take_content_length(x, data, available, sink, sink_context)};
  }
  auto progress = x.request_parser.feed_chunked(data, available, sink, sink_context);
  if (progress.error) co_return BodyPiece{nullptr, 0, Failure::kBadRequestBody};
  x.body_received = x.request_parser.chunked_payload_bytes();
  x.body_complete = progress.complete;
  if (x.body_received > x.body_limit) {
    co_return BodyPiece{nullptr, 0, Failure::kBodyTooLarge};
  }
  co_return BodyPiece{data, progress.consumed};
}

void consume_body_piece(Exchange& x, const BodyPiece& piece) {
  x.client.buffer->consume(piece.length);
}

Task<Failure> stream_request_body(Exchange& x) {
  const config::Upstream& spec = x.route->group->spec();
  while (!x.body_complete) {
    BodyPiece piece = co_await read_body_piece(x);
    if (piece.failure != Failure::kNone) co_return piece.failure;
    iovec iov{const_cast<char*>(piece.data), piece.length};
    net::IoResult r;
    {
      ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.idle);
      r = co_await net::write_all(x.upstream->socket, &iov, 1);
    }
    consume_body_piece(x, piece);
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

Task<Failure> stream_response(Exchange& x) {
  http::ResponseHead& r = x.response;
  const config::Upstream& spec = x.route->group->spec();
  ResponseBody mode = ResponseBody::kAsIs;
  bool client_http10 = x.request.version_minor == 0;
  if (r.framing == http::Framing::kChunked && client_http10) {
    mode = ResponseBody::kDechunk;
    x.close_after = true;
  } else if (r.framing == http::Framing::kUntilClose) {
    if (client_http10) {
      x.close_after = true;
    } else {
      mode = ResponseBody::kRechunk;
    }
  }
  if (!x.request.keep_alive || x.engine.draining()) x.close_after = true;
  x.status = r.status;

  ResponseStream stream{x, mode};
  stream.remaining = r.content_length;
  net::Buffer& buffer = *x.upstream_buffer;

  // The head, with the body bytes that came with it, in one write.
  run_response_phase(x, r.status);
  HeadWriter w(head_buffer(x, r.length + x.request_id.size() + edit_bytes(x.plugins, false) + 256));
  write_client_head(x, w, mode);
  bool ok = w.ok();
  Slices out;
  out.add(w.text());
  char* body = buffer.read_ptr() + r.length;
  std::size_t available = buffer.readable() - r.length;
  stream.frame(out, body, available, ok);
  if (!ok) co_return Failure::kUpstreamGarbage;
  if (stream.done && mode == ResponseBody::kRechunk) out.add("0\r\n\r\n");
  x.client.exchange = &x;
  net::IoResult written = co_await write_to_client(x, out.iov(), out.count());
  x.response_started = true;
  if (!written.ok()) co_return x.client_failure();

  while (!stream.done) {
    buffer.clear();
    net::IoResult got;
    {
      ScopedDeadline deadline(x.engine.timers(), x.upstream_deadline, spec.timeouts.idle);
      got = co_await net::read_some(x.upstream->socket, buffer.write_ptr(), buffer.writable());
    }
    if (got.status == IoStatus::kEof && r.framing == http::Framing::kUntilClose) {
      stream.done = true;
      if (mode == ResponseBody::kRechunk) {
        iovec last{const_cast<char*>("0\r\n\r\n"), 5};
        written = co_await write_to_client(x, &last, 1);
        if (!written.ok()) co_return x.client_failure();
      }
      break;
    }
    if (!got.ok()) co_return x.upstream_failure(got);
    buffer.commit(got.bytes);
    Slices piece;
    stream.frame(piece, buffer.read_ptr(), buffer.readable(), ok);
    if (!ok) co_return Failure::kUpstreamGarbage;
    if (stream.done && mode == ResponseBody::kRechunk) piece.add("0\r\n\r\n");
    if (piece.count() == 0) continue;
    written = co_await write_to_client(x, piece.iov(), piece.count());
    if (!written.ok()) co_return x.client_failure();
  }
  x.client.exchange = nullptr;

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
