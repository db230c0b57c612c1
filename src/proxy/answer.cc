// Gateway-made responses (see answer.h).
#include "proxy/answer.h"

#include <string>

#include "proxy/engine.h"
#include "proxy/forward.h"

namespace turnpike::proxy {

using http::Error;
using net::ScopedDeadline;
using net::Task;

namespace {

Error error_for(Failure f) {
  switch (f) {
    case Failure::kClientTimeout: return Error::kRequestTimeout;
    case Failure::kBadRequestBody: return Error::kBadRequest;
    case Failure::kBodyTooLarge: return Error::kPayloadTooLarge;
    case Failure::kConnectTimeout:
    case Failure::kUpstreamTimeout:
    case Failure::kRouteTimeout: return Error::kGatewayTimeout;
    default: return Error::kBadGateway;
  }
}

std::string_view message_for(Failure f) {
  switch (f) {
    case Failure::kClientTimeout: return "client too slow";
    case Failure::kBadRequestBody: return "malformed chunked body";
    case Failure::kBodyTooLarge: return "request body too large";
    case Failure::kConnectFailed: return "upstream refused the connection";
    case Failure::kConnectTimeout: return "upstream connect timed out";
    case Failure::kUpstreamReset: return "upstream closed the connection";
    case Failure::kUpstreamGarbage: return "upstream sent an invalid response";
    case Failure::kUpstreamTimeout: return "upstream timed out";
    case Failure::kRouteTimeout: return "route timeout exceeded";
    default: return {};
  }
}

}  // namespace

Task<bool> answer(Exchange& x, Error error, std::string_view message,
                  std::string_view extra_headers) {
  // An answer before the whole request body was read leaves its bytes unread: close after.
  if (x.request.framing != http::Framing::kNone && !x.body_complete) x.close_after = true;
  if (!x.request.keep_alive || x.engine.draining()) x.close_after = true;
  if (x.request_id.empty()) assign_request_id(x);
  x.status = http::status_of(error);
  x.error = http::code_of(error);
  std::string response =
      http::render_error(error, message, x.request_id, extra_headers, x.close_after);
  iovec iov{response.data(), response.size()};
  x.client.socket.clear_abort();  // a deadline may have aborted the read this answers
  ScopedDeadline deadline(x.engine.timers(), x.client.deadline,
                          x.snapshot->config->server.limits.idle_timeout);
  net::IoResult r = co_await net::write_all(x.client.socket, &iov, 1);
  x.response_started = true;
  x.bytes_out += r.bytes;
  co_return r.ok() && !x.close_after;
}

Task<bool> answer_failure(Exchange& x, Failure f) {
  x.failure = f;
  x.upstream.reset();
  x.upstream_socket = nullptr;
  if (f == Failure::kClientGone) {
    // The drain timeout ends exchanges the way a client hang-up does; say which it was.
    x.error = x.engine.drain_cut() ? "drain_timeout" : "client_closed";
    co_return false;
  }
  if (x.response_started) {
    x.error = http::code_of(error_for(f));  // the response was cut short
    co_return false;
  }
  co_return co_await answer(x, error_for(f), message_for(f));
}

}  // namespace turnpike::proxy
