// builtin:echo, an upstream inside the gateway: it answers with the request it received (as an
// upstream would have received it: forwarded path, X-Forwarded-*, X-Request-Id) as JSON, so the
// quickstart shows a real round trip with nothing else running.
#pragma once

#include "net/task.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Reads the whole request body (up to max_body_bytes; the first 64 KiB are echoed) and answers.
// Returns whether the connection may carry another request.
net::Task<bool> serve_echo(Exchange& x);

}  // namespace turnpike::proxy
