// The admin API (SPEC §6): health and readiness probes, metrics, the running configuration and
// its replacement, routes, upstreams and route explanation. Served on the admin listener by the
// control thread; bearer-token protected (except the probes) when a token is configured.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/http_server.h"
#include "config/diff.h"
#include "config/model.h"
#include "net/task.h"
#include "observe/metrics.h"
#include "proxy/snapshot.h"

namespace turnpike::admin {

// What the API needs from the running gateway (app::Gateway implements it).
class Control {
 public:
  virtual ~Control() = default;

  struct Running {
    std::shared_ptr<const proxy::Snapshot> snapshot;
    std::string hash;  // SHA-256 of the canonical configuration
    // Restart-only settings the last applied configuration asked to change (the snapshot's
    // configuration holds the running values).
    std::vector<config::RestartPending> pending;
  };
  virtual Running running() const = 0;
  // Serving (200 on /ready), or starting / draining (503).
  virtual bool ready() const = 0;

  struct Applied {
    uint64_t generation = 0;
    std::vector<config::ConfigError> errors;  // empty: applied (or valid, for a dry run)
  };
  // YAML or JSON text from POST /config; a dry run only validates and compiles.
  virtual Applied apply(std::string_view text, bool dry_run) = 0;

  // Every worker's metrics, summed (waits for the workers, with a deadline).
  virtual net::Task<observe::WorkerMetrics> gather_metrics() = 0;
  virtual observe::ProcessGauges gauges() const = 0;
  virtual double uptime_seconds() const = 0;
};

class Api {
 public:
  explicit Api(Control& control) : control_(control) {}
  net::Task<Response> handle(const Request& request);

 private:
  bool authorized(const Request& request) const;
  net::Task<Response> metrics();
  net::Task<Response> health_metrics();
  Response config_get() const;
  Response config_post(const Request& request, bool dry_run);
  Response routes() const;
  net::Task<Response> upstreams();
  Response explain(const Request& request) const;

  Control& control_;
};

}  // namespace turnpike::admin
