// The state of one request on its way through the gateway: the client connection it came on,
// its parsed head, the route, the upstream connection, deadlines and progress. Lives in the
// request's coroutine frame; nothing here outlives the request.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "http/errors.h"
#include "http/parser.h"
#include "net/buffer.h"
#include "net/cancel.h"
#include "net/socket.h"
#include "net/timers.h"
#include "observe/trace.h"
#include "plugins/plugin.h"
#include "proxy/snapshot.h"
#include "proxy/upstream_pool.h"

namespace turnpike::proxy {

class Engine;
struct Exchange;

// One accepted client connection. It outlives its requests; while idle it holds no buffer.
class ClientConnection final : public net::ReadinessListener {
 public:
  ClientConnection(Engine& engine, net::Socket socket, const net::Address& peer,
                   const std::string& listener);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  Engine& engine;
  net::Socket socket;
  net::Address peer;
  const std::string& listener;
  net::BufferRef buffer;  // held from the first byte of a request to the end of its response
  net::Deadline deadline;  // bounds the current wait on the client (header, idle, body, write)
  Exchange* exchange = nullptr;  // the request whose response is being awaited, if any
  Exchange* current = nullptr;   // the request being served, if any
  bool idle = false;             // waiting for the next request (drain closes these)
  uint32_t requests = 0;

  // Engine registry (drain walks it).
  ClientConnection* prev = nullptr;
  ClientConnection* next = nullptr;

 private:
  // A hang-up while the request is with the upstream cancels the upstream exchange.
  void on_readiness(uint32_t epoll_events) override;
  static void on_deadline(void* self);
};

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

struct Exchange {
  Exchange(ClientConnection& c, LocalSnapshot::Pin pin);

  ClientConnection& client;
  Engine& engine;
  LocalSnapshot::Pin snapshot;
  const RouteRuntime* route = nullptr;

  // The request.
  http::RequestHead request;
  http::MessageParser request_parser{http::MessageParser::Kind::kRequest};
  std::string_view host;       // authority (absolute-form) or Host header, as sent
  std::string_view raw_path;   // request-target path as sent
  std::string_view query;      // after '?', empty when none
  bool has_query = false;
  bool absolute_form = false;
  net::BufferRef scratch;      // the normalized and forwarded paths
  net::BufferRef out;          // where forwarded heads are composed
  std::string_view path;       // normalized (in scratch)
  std::string_view request_id;
  char generated_id[32];
  std::string peer_ip;         // the client connection's peer address, as text
  std::string_view forwarded_path;  // path sent upstream (strip_prefix, base path)

  // Plugins, on routes that have any: what they see of the exchange and the edits they made.
  std::optional<plugins::Context> plugins;
  bool response_phase_done = false;  // the response phase ran for the head being written
  std::size_t plugin_waiting = 0;    // the request-phase plugin whose wait() is next

  // Body progress (client -> upstream).
  uint64_t body_limit = 0;     // max_body_bytes, or less by the route's request_size
  uint64_t body_received = 0;  // payload bytes of the request body seen
  std::size_t body_buffered = 0;  // body bytes that arrived with the head (in the client buffer)
  bool body_complete = false;  // the whole request body has been read
  bool replayable = false;     // head and whole body sit in the client buffer: can be resent
  bool head_consumed = false;  // the head and first body bytes left the client buffer
  bool continue_sent = false;  // "100 Continue" went to the client
  bool upstream_write_failed = false;  // the upstream stopped reading the body (it may answer)

  // The upstream side.
  std::unique_ptr<UpstreamConnection> upstream;
  // The wait in progress on the upstream side (a socket, a plugin's Completion): interrupted by
  // the upstream deadline, cancelled for good by the route deadline or the client leaving.
  net::Cancellation cancel;
  bool upstream_reused = false;
  net::BufferRef upstream_buffer;
  http::ResponseHead response;
  http::MessageParser response_parser{http::MessageParser::Kind::kResponse};
  net::Deadline upstream_deadline;
  net::Deadline route_deadline;

  // Observation (SPEC §7, §8): when, which trace, which upstream target.
  net::Clock::time_point started{};
  observe::TraceContext trace;
  std::array<char, 16> upstream_span_id{};  // the span id sent upstream in traceparent
  char traceparent[55];
  const upstream::Target* target = nullptr;  // the last target tried
  upstream::Lease lease;  // the target of the current attempt, in flight until the exchange ends
  net::Clock::time_point upstream_started{};
  net::Clock::time_point upstream_finished{};
  std::string_view error;  // SPEC §5 code (or client_closed) when the exchange did not succeed

  // Outcome.
  bool client_gone = false;
  bool response_started = false;  // a byte of the response went to the client
  bool close_after = false;       // the client connection ends after this response
  uint16_t status = 0;
  uint64_t bytes_out = 0;
  Failure failure = Failure::kNone;

  // The client hung up while its request was upstream.
  void cancel_for_client_gone();
  // What interrupted a failed operation on the upstream / client socket.
  Failure upstream_failure(const net::IoResult& result) const;
  Failure client_failure() const;

 private:
  static void on_upstream_deadline(void* self);
  static void on_route_deadline(void* self);
};

}  // namespace turnpike::proxy
