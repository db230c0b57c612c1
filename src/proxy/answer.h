// Responses the gateway makes itself (SPEC §5), and the mapping from a failed exchange to one.
#pragma once

#include <string_view>

#include "http/errors.h"
#include "net/task.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Writes a SPEC §5 error response. Returns whether the connection may carry another request.
net::Task<bool> answer(Exchange& x, http::Error error, std::string_view message,
                       std::string_view extra_headers = {});

// Ends a failed exchange: the upstream connection is not reused; the client gets the matching
// error if nothing of the response was sent yet, otherwise the connection closes.
net::Task<bool> answer_failure(Exchange& x, Failure failure);

}  // namespace turnpike::proxy
