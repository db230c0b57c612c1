// What a finished request leaves behind: trace context at its start; metrics, the access log
// line and trace spans at its end (SPEC §4 traceparent, §7, §8).
#pragma once

#include "proxy/exchange.h"

namespace turnpike::proxy {

// Continues the caller's trace (a valid traceparent) or starts one, with the gateway's span ids
// and the sampling decision; fills x.traceparent for the upstream.
void start_trace(Exchange& x);

// Counts one upstream attempt's outcome for its target.
void record_attempt(Exchange& x, const upstream::Target& target, Failure failure);

// Debug log lines (callers check observe::log_enabled(kDebug) first, so nothing is formatted
// when debug is off): a new upstream connection, and an attempt retried (`why`: the failure or
// the status that caused it).
void debug_upstream_opened(const Exchange& x, const upstream::Target& target);
void debug_retry(const Exchange& x, const upstream::Target& target, Failure failure,
                 const char* kind);

// Metrics, access log line, spans. Called once per request that had a complete head.
void record_request(Exchange& x);

}  // namespace turnpike::proxy
