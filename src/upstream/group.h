// An upstream group at run time: resolved targets and the balancer that picks one per request.
// Built from config::Upstream on the control thread; immutable except for per-worker balancer
// state, which only its worker touches.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "net/socket.h"

namespace turnpike::upstream {

struct Target {
  std::string address;  // "127.0.0.1:9001" as configured: the metrics and log label
  net::Address endpoint;
  uint32_t weight = 1;
  // Stable per (group, address) across reloads: the key of the workers' idle pools and of the
  // target's metrics (observe::target_ids()).
  uint32_t pool_id = 0;
};

// Smooth weighted round robin (the nginx algorithm): over any window of sum(weights) picks each
// target is chosen exactly `weight` times, interleaved rather than in bursts.
class RoundRobin {
 public:
  explicit RoundRobin(std::vector<uint32_t> weights);
  std::size_t pick();

 private:
  std::vector<uint32_t> weights_;
  std::vector<int64_t> current_;
  int64_t total_ = 0;
};

class Group {
 public:
  // Resolves every target; on failure returns null and appends "path: message" errors.
  static std::shared_ptr<Group> build(const config::Upstream& spec, int workers,
                                      std::vector<config::ConfigError>& errors,
                                      const std::string& path);

  const config::Upstream& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  uint32_t metrics_id() const { return metrics_id_; }
  const std::vector<Target>& targets() const { return targets_; }

  // The next target for a request on `worker` (only that worker's thread may call this).
  const Target& pick(int worker);

 private:
  // Each worker's balancer on its own cache line: no sharing between workers.
  struct alignas(64) PerWorker {
    explicit PerWorker(std::vector<uint32_t> weights) : balancer(std::move(weights)) {}
    RoundRobin balancer;
  };

  config::Upstream spec_;
  uint32_t metrics_id_ = 0;
  std::vector<Target> targets_;
  std::vector<std::unique_ptr<PerWorker>> workers_;
};

}  // namespace turnpike::upstream
