// HTTP/1.1 from clients (see http1_connection.h):
//
//   wait for a request (no buffer while idle)
//   -> read the head (header_timeout, max_header_bytes) -> request id, trace
//   -> the exchange (exchange.cc), which reads the body and writes the response through the
//      Http1Stream below: "100 Continue", request body framing, response framing, keep-alive
//   -> next request on the same connection
#include "proxy/http1_connection.h"

#include <sys/epoll.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>

#include "http/errors.h"
#include "proxy/answer.h"
#include "proxy/engine.h"
#include "proxy/exchange.h"
#include "proxy/forward.h"
#include "proxy/record.h"
#include "proxy/stream.h"
#include "proxy/tunnel.h"

namespace turnpike::proxy {

using http::Error;
using net::IoStatus;
using net::ScopedDeadline;
using net::Task;

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

namespace {

const config::Limits& limits(const Exchange& x) { return x.snapshot->config->server.limits; }

// One request on the connection, as the exchange's client stream.
class Http1Stream final : public ClientStream {
 public:
  explicit Http1Stream(ClientConnection& c) : ClientStream(c.peer), c_(c) { secure = c.tls != nullptr; }

  http::MessageParser parser{http::MessageParser::Kind::kRequest};
  std::size_t early_bytes = 0;  // body bytes that arrived with the head (in the client buffer)
  // What the client sends after the head and those bytes: the rest of the body, pipelined
  // requests, a tunnel's bytes. Read into a buffer of its own, so that the head (which the
  // exchange's fields point into until its log line) is never overwritten. Null until needed.
  net::BufferRef rest;

  Failure take_early_body(Exchange& x, http::BodySink sink, void* sink_context) override {
    const http::RequestHead& r = x.request;
    const char* body = c_.buffer->read_ptr() + r.length;
    std::size_t after_head = c_.buffer->readable() - r.length;
    switch (r.framing) {
      case http::Framing::kNone:
      case http::Framing::kUntilClose:
        x.body_complete = true;
        early_bytes = 0;
        break;
      case http::Framing::kContentLength:
        early_bytes = take_content_length(x, body, after_head, sink, sink_context);
        break;
      case http::Framing::kChunked: {
        auto progress = parser.feed_chunked(body, after_head, sink, sink_context);
        if (progress.error) return Failure::kBadRequestBody;
        early_bytes = progress.consumed;
        x.body_received = parser.chunked_payload_bytes();
        x.body_complete = progress.complete;
        if (x.body_received > x.body_limit) return Failure::kBodyTooLarge;
        break;
      }
    }
    x.replayable = x.body_complete;
    return Failure::kNone;
  }

  std::string_view early_body(const Exchange& x) const override {
    return std::string_view(c_.buffer->read_ptr() + x.request.length, early_bytes);
  }

  Task<BodyPiece> read_body(Exchange& x, http::BodySink sink, void* sink_context) override {
    if (x.request.expect_continue && !continue_sent_ && x.request.version_minor == 1) {
      continue_sent_ = true;
      static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
      iovec iov{const_cast<char*>(kContinue), sizeof(kContinue) - 1};
      ScopedDeadline deadline(x.engine.timers(), c_.deadline, limits(x).idle_timeout);
      net::IoResult r = co_await net::write_all(*c_.transport, c_.socket, &iov, 1);
      if (!r.ok()) co_return BodyPiece{nullptr, 0, client_failure(x)};
    }
    net::Buffer& in = *rest_of(x);
    if (in.readable() == 0) {
      in.clear();
      ScopedDeadline deadline(x.engine.timers(), c_.deadline, limits(x).idle_timeout);
      net::IoResult r = co_await net::read_some(*c_.transport, c_.socket, in.write_ptr(),
                                                in.writable());
      if (!r.ok()) co_return BodyPiece{nullptr, 0, client_failure(x)};
      in.commit(r.bytes);
    }
    const char* data = in.read_ptr();
    std::size_t available = in.readable();
    if (x.request.framing == http::Framing::kContentLength) {
      co_return BodyPiece{data, take_content_length(x, data, available, sink, sink_context)};
    }
    auto progress = parser.feed_chunked(data, available, sink, sink_context);
    if (progress.error) co_return BodyPiece{nullptr, 0, Failure::kBadRequestBody};
    x.body_received = parser.chunked_payload_bytes();
    x.body_complete = progress.complete;
    if (x.body_received > x.body_limit) co_return BodyPiece{nullptr, 0, Failure::kBodyTooLarge};
    co_return BodyPiece{data, progress.consumed};
  }

  void consume_body(Exchange&, const BodyPiece& piece) override { rest->consume(piece.length); }

  ResponseBody response_body(Exchange& x, const http::ResponseHead& r) override {
    ResponseBody mode = ResponseBody::kAsIs;
    bool http10 = x.request.version_minor == 0;
    if (r.framing == http::Framing::kChunked && http10) {
      mode = ResponseBody::kDechunk;  // close-delimited for the HTTP/1.0 client
      x.close_after = true;
    } else if (r.framing == http::Framing::kUntilClose) {
      if (http10) {
        x.close_after = true;
      } else {
        mode = ResponseBody::kRechunk;
      }
    }
    if (!x.request.keep_alive || x.engine.draining()) x.close_after = true;
    return mode;
  }

  Task<Failure> send_head(Exchange& x, ResponseBody mode, Slices& body) override {
    HeadWriter w(head_buffer(
        x, x.response.length + x.request_id.size() + edit_bytes(x.plugins, false) + 256));
    write_client_head(x, w, mode);
    if (!w.ok()) co_return Failure::kUpstreamGarbage;
    // The head with the body bytes that came with it, in one write.
    Slices out;
    out.add(w.text());
    out.append(body);
    ScopedDeadline deadline(x.engine.timers(), c_.deadline, limits(x).idle_timeout);
    net::IoResult r = co_await net::write_all(*c_.transport, c_.socket, out.iov(), out.count());
    x.bytes_out += r.bytes;
    x.response_started = true;
    co_return r.ok() ? Failure::kNone : client_failure(x);
  }

  Task<Failure> send_body(Exchange& x, Slices& body) override { return write(x, body); }

  Task<bool> send_answer(Exchange& x, uint16_t status, std::string_view content_type,
                         std::string_view content, std::string_view extra_headers) override {
    std::string head;
    head.reserve(256 + extra_headers.size());
    http::append_answer_start(head, status, content_type, content.size());
    head += extra_headers;
    // The tail (X-Request-Id, the response phase's edits, Connection) is the one every response
    // head gets, the upstream's included.
    HeadWriter tail(head_buffer(x, 64 + x.request_id.size() + edit_bytes(x.plugins, false)));
    write_response_tail(tail, response_of(x));
    bool has_content = !x.request.is_head && status != 204 && status >= 200;
    iovec iov[3] = {{head.data(), head.size()},
                    {const_cast<char*>(tail.text().data()), tail.text().size()},
                    {const_cast<char*>(content.data()), has_content ? content.size() : 0}};
    c_.socket.clear_abort();  // a deadline may have aborted the read this answers
    ScopedDeadline deadline(x.engine.timers(), c_.deadline, limits(x).idle_timeout);
    net::IoResult r = co_await net::write_all(*c_.transport, c_.socket, iov, 3);
    x.response_started = true;
    x.bytes_out += r.bytes;
    co_return r.ok() && !x.close_after;
  }

  Task<void> tunnel(Exchange& x, net::Socket& upstream, net::BufferRef& upstream_buffer,
                    net::Duration idle) override {
    // What the client sent after its head already belongs to the tunnel.
    TunnelEnd client{*c_.transport, c_.socket, rest_of(x)};
    TunnelEnd server{net::plain_transport(), upstream, upstream_buffer};
    co_await relay(x.engine.loop(), x.engine.timers(), client, server, idle);
    x.bytes_out += client.bytes_sent;
  }

  bool gone() const override { return c_.socket.hangup(); }
  void interrupt() override { c_.socket.abort(); }
  void attend(Exchange* x) override { c_.exchange = x; }

 private:
  // Counts CL payload and hands it to the sink; the chunked path counts in the parser.
  static std::size_t take_content_length(Exchange& x, const char* data, std::size_t available,
                                         http::BodySink sink, void* sink_context) {
    uint64_t remaining = x.request.content_length - x.body_received;
    std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(available, remaining));
    if (sink && take > 0) sink(sink_context, data, take);
    x.body_received += take;
    x.body_complete = x.body_received == x.request.content_length;
    return take;
  }

  // The buffer for what follows the head: made on first use from the client buffer's bytes
  // after the head and the body bytes that came with it.
  net::BufferRef& rest_of(Exchange& x) {
    if (rest) return rest;
    std::string_view after = c_.buffer->view().substr(x.request.length + early_bytes);
    rest = x.engine.buffers().acquire(after.size());
    if (!after.empty()) {
      std::memcpy(rest->write_ptr(), after.data(), after.size());
      rest->commit(after.size());
    }
    return rest;
  }

  // What interrupted a failed read or write on the client socket.
  Failure client_failure(const Exchange& x) const {
    if (x.route_deadline.expired()) return Failure::kRouteTimeout;
    if (c_.deadline.expired()) return Failure::kClientTimeout;
    return Failure::kClientGone;
  }

  Task<Failure> write(Exchange& x, Slices& out) {
    ScopedDeadline deadline(x.engine.timers(), c_.deadline, limits(x).idle_timeout);
    net::IoResult r = co_await net::write_all(*c_.transport, c_.socket, out.iov(), out.count());
    x.bytes_out += r.bytes;
    x.response_started = true;
    co_return r.ok() ? Failure::kNone : client_failure(x);
  }

  ClientConnection& c_;
  bool continue_sent_ = false;  // "100 Continue" went to the client
};

// ---------------------------------------------------------------------------------------------
// Reading the request head.

enum class HeadRead : uint8_t { kComplete, kClosed, kMalformed, kTooLarge, kTimeout };

Task<HeadRead> read_request_head(ClientConnection& c, Http1Stream& stream, Exchange& x) {
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
          switch (stream.parser.parse_request(c.buffer->view().substr(0, scanner.length()),
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
    net::IoResult r = co_await net::read_some(*c.transport, c.socket, c.buffer->write_ptr(),
                                              c.buffer->writable());
    if (r.status == IoStatus::kAborted && c.deadline.expired()) {
      // A connection that never sent a byte is closed quietly; a partial head gets 408.
      co_return received ? HeadRead::kTimeout : HeadRead::kClosed;
    }
    if (!r.ok()) co_return HeadRead::kClosed;
    c.buffer->commit(r.bytes);
  }
}

// A head that could not be read whole gets its SPEC §5 answer and the connection closes.
Task<bool> answer_head_failure(Exchange& x, HeadRead head, const http::MessageParser& parser) {
  x.close_after = true;
  switch (head) {
    case HeadRead::kMalformed:
      co_return co_await answer(x, Error::kBadRequest,
                                parser.error() ? parser.error() : "malformed request");
    case HeadRead::kTooLarge:
      co_return co_await answer(x, Error::kHeadersTooLarge, "request head too large");
    default:
      co_return co_await answer(x, Error::kRequestTimeout, "client too slow to send its head");
  }
}

Task<bool> handle_request(ClientConnection& c) {
  Http1Stream stream(c);
  Exchange x(stream, c.engine, c.engine.pin());
  c.current = &x;
  struct Clear {
    ClientConnection& c;
    ~Clear() { c.current = c.exchange = nullptr; }
  } clear{c};
  x.started = net::Clock::now();
  HeadRead head = co_await read_request_head(c, stream, x);
  if (head == HeadRead::kClosed) co_return false;
  ++c.requests;
  assign_request_id(x);
  x.peer_ip = c.peer.ip_string();
  bool keep_alive;
  if (head == HeadRead::kComplete) {
    start_trace(x);
    keep_alive = co_await run_exchange(x);
  } else {
    // A head that could not be parsed is still answered as HEAD when its request line says so:
    // the answer to HEAD is the head alone (RFC 9110 §9.3.2).
    if (c.buffer->view().starts_with("HEAD ")) x.request.is_head = true;
    keep_alive = co_await answer_head_failure(x, head, stream.parser);
  }
  record_request(x);

  // The request's bytes leave the client buffer; pipelined bytes after them stay.
  if (keep_alive) {
    if (stream.rest) {
      c.buffer = std::move(stream.rest);
    } else {
      c.buffer->consume(x.request.length + stream.early_bytes);
    }
  }
  co_return keep_alive && !x.close_after && !x.engine.draining();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The connection loop.

namespace {

// On a TLS listener, the connection's session (the handshake happens in the first reads, under
// the header timeout). False when no session could be made.
bool start_tls(ClientConnection& c, int fd) {
  const auto& servers = c.engine.pin()->tls;
  auto it = servers.find(c.listener);
  if (it == servers.end()) return true;
  SSL* ssl = it->second->accept(fd);
  if (!ssl) return false;
  c.tls = std::make_unique<net::TlsTransport>(ssl);
  c.transport = c.tls.get();
  return true;
}

}  // namespace

Task<void> serve(Engine& engine, int fd, net::Address peer, const std::string& listener) {
  ClientConnection client(engine, net::Socket(engine.loop(), fd), peer, listener);
  if (!client.socket.valid() || !start_tls(client, fd)) co_return;
  bool handshake_counted = false;
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
      // Bytes the transport already holds (a TLS record's rest) need no readiness event.
      bool ready = client.transport->pending() || co_await client.socket.readable();
      client.idle = false;
      if (!ready) break;
    }
    bool more = co_await handle_request(client);
    if (client.tls && !handshake_counted && client.tls->handshake_done()) {
      handshake_counted = true;
      observe::TlsCounters& counters = engine.metrics().tls(listener);
      ++(client.tls->resumed() ? counters.resumed : counters.full);
    }
    if (!more) break;
  }
  if (client.tls) {
    if (!handshake_counted) ++engine.metrics().tls(listener).failed;
    client.tls->close_notify();
  }
}

}  // namespace turnpike::proxy
