// Responses the gateway makes itself (SPEC §5), and the mapping from a failed exchange to one.
#pragma once

#include <string_view>

#include "http/errors.h"
#include "net/task.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// The one writer of every response the gateway makes itself (errors, builtin:echo, a plugin's
// answer such as a 204 preflight): runs the response phase, then writes the head with the tail
// every response gets (X-Request-Id, the plugins' edits, the connection decision) and, unless
// the request was HEAD or the status has none, `content`. Returns whether the connection may
// carry another request.
net::Task<bool> write_answer(Exchange& x, uint16_t status, std::string_view content_type,
                             std::string_view content, std::string_view extra_headers);

// Writes a SPEC §5 error response. Returns whether the connection may carry another request.
net::Task<bool> answer(Exchange& x, http::Error error, std::string_view message,
                       std::string_view extra_headers = {});

// Ends a failed exchange: the upstream connection is not reused; the client gets the matching
// error if nothing of the response was sent yet, otherwise the connection closes.
net::Task<bool> answer_failure(Exchange& x, Failure failure);

}  // namespace turnpike::proxy
