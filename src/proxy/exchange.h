// The state of one request on its way through the gateway, whatever protocol it came in on: the
// client stream it talks to, its parsed head, the route, the upstream connection, deadlines and
// progress. Lives in the request's coroutine frame; nothing here outlives the request.
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
#include "net/task.h"
#include "net/timers.h"
#include "observe/trace.h"
#include "plugins/plugin.h"
#include "proxy/client_stream.h"
#include "proxy/snapshot.h"
#include "proxy/upstream_pool.h"

namespace turnpike::proxy {

class Engine;

struct Exchange {
  Exchange(ClientStream& c, Engine& e, LocalSnapshot::Pin pin);

  ClientStream& client;
  Engine& engine;
  LocalSnapshot::Pin snapshot;
  const RouteRuntime* route = nullptr;

  // The request.
  http::RequestHead request;
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
  bool upgrade = false;        // a WebSocket upgrade, forwarded as one (SPEC §4)

  // Plugins, on routes that have any: what they see of the exchange and the edits they made.
  std::optional<plugins::Context> plugins;
  bool response_phase_done = false;  // the response phase ran for the head being written
  std::size_t plugin_waiting = 0;    // the request-phase plugin whose wait() is next

  // Body progress (client -> upstream).
  uint64_t body_limit = 0;     // max_body_bytes, or less by the route's request_size
  uint64_t body_received = 0;  // payload bytes of the request body seen
  bool body_complete = false;  // the whole request body has been read
  bool replayable = false;     // head and whole body sit in the client buffer: can be resent
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
  // What interrupted a failed operation on the upstream socket.
  Failure upstream_failure(const net::IoResult& result) const;

 private:
  static void on_upstream_deadline(void* self);
  static void on_route_deadline(void* self);
};

// Serves a request whose head the client side parsed into x.request (and x.request_id, x.trace,
// x.peer_ip): the target split and normalized, the route matched, the route's plugins, then
// builtin:echo or the upstream, each answer through x.client. Returns whether the client's
// connection may carry another request.
net::Task<bool> run_exchange(Exchange& x);

}  // namespace turnpike::proxy
