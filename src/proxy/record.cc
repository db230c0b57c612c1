// Per-request observation (see record.h).
#include "proxy/record.h"

#include <chrono>
#include <string>
#include <vector>

#include "http/errors.h"
#include "observe/access_log.h"
#include "observe/log.h"
#include "observe/metrics.h"
#include "observe/otlp.h"
#include "proxy/engine.h"
#include "proxy/forward.h"

namespace turnpike::proxy {
namespace {

using observe::Outcome;

void random_span(Engine& e, std::array<char, 16>& out) {
  uint64_t value = e.random();
  if (value == 0) value = 1;  // an all-zero id is invalid
  observe::random_hex(out.data(), 16, value, 0);
}

double seconds_between(net::Clock::time_point a, net::Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Span times are wall-clock; the exchange measured steady-clock times. The wall clock is read
// once, when the spans are made (only for sampled requests), and the rest derived from it.
struct WallClock {
  net::Clock::time_point steady_now = net::Clock::now();
  uint64_t unix_now_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  uint64_t at(net::Clock::time_point t) const {
    return unix_now_ns - static_cast<uint64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(steady_now - t)
                                 .count());
  }
};

void copy(std::string& to, std::string_view from) { to.assign(from.data(), from.size()); }

// The consumer an authentication plugin named (SPEC §8 `consumer`); empty: anonymous.
std::string_view consumer_of(const Exchange& x) {
  return x.plugins ? x.plugins->consumer : std::string_view();
}

void export_spans(Exchange& x, net::Clock::time_point finished) {
  observe::SpanQueue& queue = x.engine.tracer().queue(x.engine.worker().index());
  std::string_view route = x.route ? std::string_view(x.route->spec->name) : std::string_view();
  std::string_view upstream = x.route && x.route->group ? std::string_view(x.route->group->name())
                                                        : std::string_view();
  bool error = x.status >= 500 || !x.error.empty();
  WallClock wall;
  auto fill = [&](observe::SpanRecord& r) {
    r.trace_id = x.trace.trace_id;
    r.status = x.status;
    r.error = error;
    copy(r.method, x.request.method);
    copy(r.route, route);
    copy(r.path, x.path);
    copy(r.upstream, upstream);
    copy(r.target, x.target ? std::string_view(x.target->address) : std::string_view());
    copy(r.consumer, consumer_of(x));
  };
  if (observe::SpanRecord* server = queue.claim()) {
    fill(*server);
    server->span_id = x.trace.span_id;
    server->parent_id = x.trace.parent_id;
    server->has_parent = x.trace.continued;
    server->kind = 2;
    server->start_ns = wall.at(x.started);
    server->end_ns = wall.at(finished);
    server->name.assign(x.request.method.data(), x.request.method.size());
    server->name += ' ';
    server->name += route.empty() ? std::string_view("unmatched") : route;
    queue.publish();
  } else {
    queue.count_drop();
  }
  if (!x.target) return;
  if (observe::SpanRecord* client = queue.claim()) {
    fill(*client);
    client->span_id = x.upstream_span_id;
    client->parent_id = x.trace.span_id;
    client->has_parent = true;
    client->kind = 3;
    client->start_ns = wall.at(x.upstream_started);
    client->end_ns =
        wall.at(x.upstream_finished > x.upstream_started ? x.upstream_finished : finished);
    client->name.assign("upstream ");
    client->name += upstream;
    queue.publish();
  } else {
    queue.count_drop();
  }
}

}  // namespace

void start_trace(Exchange& x) {
  Engine& e = x.engine;
  const http::Header* incoming = x.request.headers.find(http::HeaderId::kTraceparent);
  if (!incoming || !observe::parse_traceparent(incoming->value, x.trace)) {
    x.trace = observe::TraceContext();
    observe::random_hex(x.trace.trace_id.data(), 32, e.random(), e.random());
    // A new trace is sampled by ratio when spans are exported at all.
    bool sampled = e.tracer().enabled() &&
                   static_cast<double>(e.random() >> 11) * 0x1.0p-53 < e.tracer().sample_ratio();
    x.trace.flags = sampled ? 1 : 0;
  }
  random_span(e, x.trace.span_id);
  random_span(e, x.upstream_span_id);
  observe::TraceContext upstream = x.trace;
  upstream.span_id = x.upstream_span_id;
  observe::format_traceparent(upstream, x.traceparent);
}

void record_attempt(Exchange& x, const upstream::Target& target, Failure f) {
  Outcome outcome;
  switch (f) {
    case Failure::kNone:
      outcome = x.response.status >= 500 ? Outcome::kStatus5xx : Outcome::kSuccess;
      break;
    case Failure::kConnectFailed: outcome = Outcome::kConnectError; break;
    case Failure::kConnectTimeout:
    case Failure::kUpstreamTimeout:
    case Failure::kRouteTimeout: outcome = Outcome::kTimeout; break;
    case Failure::kUpstreamGarbage: outcome = Outcome::kInvalidResponse; break;
    case Failure::kUpstreamReset: outcome = Outcome::kReset; break;
    default: return;  // the client's doing, not the upstream's
  }
  ++x.engine.metrics().target(target.pool_id).outcomes[static_cast<std::size_t>(outcome)];
}

namespace {

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::kNone: return "none";
    case Failure::kClientGone: return "client_gone";
    case Failure::kClientTimeout: return "client_timeout";
    case Failure::kBadRequestBody: return "bad_request_body";
    case Failure::kBodyTooLarge: return "body_too_large";
    case Failure::kConnectFailed: return "connect_failed";
    case Failure::kConnectTimeout: return "connect_timeout";
    case Failure::kUpstreamReset: return "upstream_reset";
    case Failure::kUpstreamGarbage: return "invalid_response";
    case Failure::kUpstreamTimeout: return "upstream_timeout";
    case Failure::kRouteTimeout: return "route_timeout";
    case Failure::kNoTarget: return "no_target";
    case Failure::kPluginTimeout: return "plugin_timeout";
  }
  return "unknown";
}

}  // namespace

void debug_upstream_opened(const Exchange& x, const upstream::Target& target) {
  observe::log_debug("upstream connection opened",
                     {{"upstream", x.route->spec->upstream},
                      {"target", target.address},
                      {"worker", std::to_string(x.engine.worker().index())},
                      {"request_id", x.request_id}});
}

void debug_retry(const Exchange& x, const upstream::Target& target, Failure failure,
                 const char* kind) {
  std::string why = failure == Failure::kNone ? "status " + std::to_string(x.response.status)
                                              : failure_name(failure);
  observe::log_debug("upstream attempt retried",
                     {{"kind", kind},
                      {"upstream", x.route->spec->upstream},
                      {"target", target.address},
                      {"why", why},
                      {"request_id", x.request_id}});
}

void record_request(Exchange& x) {
  Engine& e = x.engine;
  net::Clock::time_point finished = net::Clock::now();
  // Nothing was answered: the client went away (499), or the drain timeout cut the request
  // (503: the gateway gave up on it, shutting down).
  if (x.status == 0) x.status = x.engine.drain_cut() ? 503 : 499;
  if (x.plugins) {
    x.plugins->status = x.status;
    x.route->plugins.run_log(*x.plugins);
  }
  double seconds = seconds_between(x.started, finished);

  observe::RouteCounters& route = e.metrics().route(x.route ? x.route->metrics_id : 0);
  route.count(observe::method_label(x.request.method), x.status);
  route.duration.observe(seconds);
  if (!x.error.empty() && x.error == http::code_of(http::Error::kRateLimited)) {
    ++route.rate_limited;
  }
  double upstream_ms = -1;
  if (x.target && x.route && x.route->group) {
    net::Clock::time_point end = x.upstream_finished > x.upstream_started ? x.upstream_finished
                                                                          : finished;
    double upstream_seconds = seconds_between(x.upstream_started, end);
    e.metrics().upstream(x.route->group->metrics_id()).duration.observe(upstream_seconds);
    upstream_ms = upstream_seconds * 1000;
  }

  if (e.access_log().enabled() && (!x.route || x.route->plugins.access_log)) {
    observe::AccessRecord r;
    std::string client = client_ip(x);
    const http::Header* agent = x.request.headers.find(http::HeaderId::kUserAgent);
    r.request_id = x.request_id;
    if (x.trace.started()) {
      r.trace_id = x.trace.trace();
      r.span_id = x.trace.span();
    }
    r.client_ip = client;
    r.method = x.request.method;
    r.host = x.host;
    r.path = x.path.empty() ? x.raw_path : x.path;
    if (x.route) {
      r.route = x.route->spec->name;
      r.upstream = x.route->spec->upstream;
    }
    if (x.target) r.target = x.target->address;
    r.status = x.status;
    r.bytes_in = x.request.length + x.body_received;
    r.bytes_out = x.bytes_out;
    r.duration_ms = seconds * 1000;
    r.upstream_ms = upstream_ms;
    r.consumer = consumer_of(x);
    r.user_agent = agent ? agent->value : std::string_view();
    r.error = x.error;
    thread_local std::vector<char> line;
    std::size_t bound = observe::access_line_bound(r);
    if (line.size() < bound) line.resize(bound);
    std::size_t length = observe::format_access_line(line.data(), r);
    e.access_log().ring(e.worker().index()).append(std::string_view(line.data(), length));
  }
  if (e.tracer().enabled() && x.trace.sampled()) export_spans(x, finished);
}

}  // namespace turnpike::proxy
