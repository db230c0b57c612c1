// Plugin phases (see phases.h).
#include "proxy/phases.h"

#include <optional>

#include "config/values.h"
#include "proxy/engine.h"
#include "proxy/forward.h"

namespace turnpike::proxy {

plugins::Verdict run_request_phase(Exchange& x) {
  const plugins::Chain& chain = x.route->plugins;
  plugins::Context& c = x.plugins.emplace();
  c.method = x.request.method;
  c.host = x.host;
  c.path = x.path;
  c.query = x.query;
  c.headers = &x.request.headers;
  if (peer_trusted(x)) {
    c.client_ip = c.arena.copy(client_ip(x));
    if (auto ip = config::parse_ip(c.client_ip).value) {
      c.client_address = *ip;
      c.client_address_known = true;
    }
  } else {  // the common case: the peer is the client, its bytes are at hand
    c.client_ip = x.peer_ip;
    x.client.peer.ip_bytes(c.client_address.data());
    c.client_address_known = true;
  }
  c.has_body = x.request.framing != http::Framing::kNone;
  c.length_known = x.request.framing == http::Framing::kContentLength;
  c.content_length = x.request.content_length;
  c.body_limit = x.body_limit;
  c.worker = x.engine.worker().index();
  c.consumers = &x.snapshot->consumers;
  c.loop = &x.engine.loop();
  c.cancel = &x.cancel;
  plugins::Verdict v = chain.run_request(c, 0, &x.plugin_waiting);
  x.body_limit = c.body_limit;
  return v;
}

net::Task<plugins::Verdict> finish_request_phase(Exchange& x) {
  const plugins::Chain& chain = x.route->plugins;
  plugins::Context& c = *x.plugins;
  std::optional<net::ScopedDeadline> bound;
  if (!x.route_deadline.armed()) {
    bound.emplace(x.engine.timers(), x.upstream_deadline,
                  x.snapshot->config->server.limits.idle_timeout);
  }
  x.client.attend(&x);  // a hang-up now cancels the wait
  plugins::Verdict v = plugins::Verdict::wait();
  while (v.kind == plugins::Verdict::Kind::kWait && wait_failure(x) == Failure::kNone) {
    v = co_await chain.request[x.plugin_waiting]->wait(c);
    if (v.kind == plugins::Verdict::Kind::kContinue) {
      v = chain.run_request(c, x.plugin_waiting + 1, &x.plugin_waiting);
    }
  }
  x.client.attend(nullptr);
  x.body_limit = c.body_limit;
  co_return v;
}

Failure wait_failure(const Exchange& x) {
  if (x.client_gone) return Failure::kClientGone;
  if (x.route_deadline.expired()) return Failure::kRouteTimeout;
  if (x.upstream_deadline.expired()) return Failure::kPluginTimeout;
  return Failure::kNone;
}

void run_response_phase(Exchange& x, uint16_t status) {
  if (!x.plugins || x.response_phase_done) return;
  x.response_phase_done = true;
  x.plugins->status = status;
  x.route->plugins.run_response(*x.plugins);
}

}  // namespace turnpike::proxy
