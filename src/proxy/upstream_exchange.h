// The upstream side of an exchange: target, connection, request, response head, retries, and
// the response streamed back to the client.
#pragma once

#include "net/task.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Proxies the routed request to its upstream group and streams the response (or the error
// answer) to the client. Returns whether the client connection may carry another request.
net::Task<bool> proxy_to_upstream(Exchange& x);

}  // namespace turnpike::proxy
