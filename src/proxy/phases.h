// The plugin phases of one exchange (SPEC §3): the request phase after routing, the response
// phase before any response head is written. Routes without plugins pay one branch.
#pragma once

#include "net/task.h"
#include "plugins/plugin.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Runs the route's request phase (in kOrder) and returns the first verdict that is not
// "continue", or "continue". Makes the plugin context first. kWait: finish_request_phase next.
plugins::Verdict run_request_phase(Exchange& x);

// The rest of a request phase that is waiting: each plugin's wait(), then the plugins after it.
// Bounded by the route's deadline (or, on a route without a timeout, the idle timeout) and
// cancelled when the client leaves; then wait_failure() says which.
net::Task<plugins::Verdict> finish_request_phase(Exchange& x);
Failure wait_failure(const Exchange& x);

// Runs the route's response phase once per exchange, for the status about to be written (the
// upstream's, or an answer the gateway makes after routing). Nothing on routes without plugins.
void run_response_phase(Exchange& x, uint16_t status);

}  // namespace turnpike::proxy
