// Gateway-made responses (see answer.h).
#include "proxy/answer.h"

#include <string>

#include "proxy/engine.h"
#include "proxy/forward.h"
#include "proxy/phases.h"

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
    case Failure::kRouteTimeout:
    case Failure::kPluginTimeout: return Error::kGatewayTimeout;
    case Failure::kNoTarget: return Error::kUpstreamUnavailable;
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
    case Failure::kNoTarget: return "no usable upstream target";
    case Failure::kPluginTimeout: return "a plugin's wait timed out";
    default: return {};
  }
}

}  // namespace

Task<bool> write_answer(Exchange& x, uint16_t status, std::string_view content_type,
                        std::string_view content, std::string_view extra_headers) {
  // An answer before the whole request body was read leaves its bytes unread: close after.
  if (x.request.framing != http::Framing::kNone && !x.body_complete) x.close_after = true;
  if (!x.request.keep_alive || x.engine.draining()) x.close_after = true;
  if (x.request_id.empty()) assign_request_id(x);
  x.status = status;
  run_response_phase(x, status);

  co_return co_await x.client.send_answer(x, status, content_type, content, extra_headers);
}

Task<bool> answer(Exchange& x, Error error, std::string_view message,
                  std::string_view extra_headers) {
  if (x.request_id.empty()) assign_request_id(x);
  x.error = http::code_of(error);
  std::string body = http::error_body(error, message, x.request_id);
  co_return co_await write_answer(x, http::status_of(error), "application/json", body,
                                  extra_headers);
}

Task<bool> answer_failure(Exchange& x, Failure f) {
  x.failure = f;
  x.cancel.clear();
  x.upstream.reset();
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
