// The client side of one exchange, as the exchange sees it: where the request body comes from,
// where the response goes, and whether the client is still there. The exchange (exchange.cc,
// upstream_exchange.cc, stream.cc, answer.cc) speaks only to this interface; HTTP/1 implements it
// over a connection (http1_connection.cc), and an HTTP/2 stream will implement it over one stream
// of a connection without changing the exchange.
#pragma once

#include <cstdint>
#include <string_view>

#include "http/parser.h"
#include "net/buffer.h"
#include "net/socket.h"
#include "net/task.h"

namespace turnpike::proxy {

struct Exchange;
class Slices;

// Why an exchange could not complete normally; decides the answer (SPEC §5) or the close.
enum class Failure : uint8_t {
  kNone,
  kClientGone,       // the client closed or reset: nobody to answer
  kClientTimeout,    // the client was too slow: 408 if nothing was answered yet
  kBadRequestBody,   // malformed chunked framing: 400
  kBodyTooLarge,     // over max_body_bytes: 413
  kConnectFailed,    // refused, unreachable: 502
  kConnectTimeout,   // 504
  kUpstreamReset,    // reset or closed early: 502
  kUpstreamGarbage,  // not HTTP: 502
  kUpstreamTimeout,  // response_header or idle timeout: 504
  kRouteTimeout,     // the route's whole-exchange timeout: 504
  kNoTarget,         // no usable target in the group (all unhealthy or open): 503
  kPluginTimeout,    // a plugin's wait outlived its bound: 504
};

// A piece of the request body, in the framing the request head declares (RequestHead::framing):
// the gateway forwards it as is under the framing field it writes itself.
struct BodyPiece {
  const char* data = nullptr;
  std::size_t length = 0;
  Failure failure = Failure::kNone;
};

// How the upstream's response body reaches the client; the client side chooses (response_body).
enum class ResponseBody : uint8_t {
  kAsIs,     // the upstream's body bytes unchanged, in the upstream's framing
  kRechunk,  // a close-delimited upstream body, chunked for the client
  kDechunk,  // the payload alone (a chunked upstream body decoded)
};

class ClientStream {
 public:
  explicit ClientStream(const net::Address& peer_address) : peer(peer_address) {}
  virtual ~ClientStream() = default;
  ClientStream(const ClientStream&) = delete;
  ClientStream& operator=(const ClientStream&) = delete;

  const net::Address& peer;  // where the request came from (before trusted_proxies)
  bool secure = false;       // the request came over TLS

  // --- The request body ---
  // Accounts for the body bytes that came with the head (x.body_received, x.body_complete,
  // x.replayable); decoded payload goes to `sink` when given.
  virtual Failure take_early_body(Exchange& x, http::BodySink sink, void* sink_context) = 0;
  // Those bytes as framed, to go upstream right behind the head.
  virtual std::string_view early_body(const Exchange& x) const = 0;
  // The next piece of the body; sends "100 Continue" first when the client asked for it.
  virtual net::Task<BodyPiece> read_body(Exchange& x, http::BodySink sink, void* sink_context) = 0;
  // A piece is forwarded: its bytes may go.
  virtual void consume_body(Exchange& x, const BodyPiece& piece) = 0;

  // --- The response ---
  // How the body of the upstream's response `r` travels to this client; may set x.close_after.
  virtual ResponseBody response_body(Exchange& x, const http::ResponseHead& r) = 0;
  // The upstream's response head (with the plugins' edits and the tail every response gets),
  // then `body`, the first body bytes already framed by `body_mode`.
  virtual net::Task<Failure> send_head(Exchange& x, ResponseBody body_mode, Slices& body) = 0;
  // More of the body.
  virtual net::Task<Failure> send_body(Exchange& x, Slices& body) = 0;
  // A response the gateway makes itself: head fields are already decided (answer.cc).
  virtual net::Task<bool> send_answer(Exchange& x, uint16_t status, std::string_view content_type,
                                      std::string_view content,
                                      std::string_view extra_headers) = 0;

  // After the upstream's 101 to an upgrade (the head went out with send_head): relays bytes both
  // ways between the client and `upstream` until both ends close, one side fails, or nothing
  // moves for `idle`. `upstream_buffer` holds what the upstream sent after its 101.
  virtual net::Task<void> tunnel(Exchange& x, net::Socket& upstream,
                                 net::BufferRef& upstream_buffer, net::Duration idle) = 0;

  // --- The client ---
  // A hang-up has been seen.
  virtual bool gone() const = 0;
  // Interrupts the current wait on the client (the route deadline passed).
  virtual void interrupt() = 0;
  // While `x` is set, the client going away cancels x's waits (x.cancel_for_client_gone()).
  virtual void attend(Exchange* x) = 0;
};

}  // namespace turnpike::proxy
