// An upstream group at run time: resolved targets and the balancer that picks one per request.
// Built from config::Upstream on the control thread; immutable except for per-worker balancer
// state, which only its worker touches.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <string>
#include <vector>

#include "config/model.h"
#include "net/socket.h"
#include "upstream/target_state.h"

namespace turnpike::upstream {

struct Target {
  std::string address;  // "127.0.0.1:9001" as configured: the metrics and log label
  net::Address endpoint;
  uint32_t weight = 1;
  // Stable per (group, address) across reloads: the key of the workers' idle pools and of the
  // target's metrics (observe::target_ids()).
  uint32_t pool_id = 0;
  TargetState* state = nullptr;  // shared by every worker and every snapshot with this target
};

// A target chosen for one attempt: counted in flight (least-conn, the admin API) from the pick
// until the lease ends, which is when the attempt's exchange with it is over.
class Lease {
 public:
  Lease() = default;
  explicit Lease(const Target* target) : target_(target) {
    target_->state->in_flight.fetch_add(1, std::memory_order_relaxed);
  }
  Lease(Lease&& other) noexcept : target_(std::exchange(other.target_, nullptr)) {}
  Lease& operator=(Lease&& other) noexcept {
    if (this != &other) {
      release();
      target_ = std::exchange(other.target_, nullptr);
    }
    return *this;
  }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease() { release(); }

  explicit operator bool() const { return target_ != nullptr; }
  const Target& operator*() const { return *target_; }
  const Target* operator->() const { return target_; }
  const Target* get() const { return target_; }

  // The attempt's outcome: a response head arrived, or the target failed (refused, reset,
  // timed out, sent garbage). Consecutive failures feed passive health and circuit breaking.
  void succeeded() const;
  void failed() const;
  void release() {
    if (target_) target_->state->in_flight.fetch_sub(1, std::memory_order_relaxed);
    target_ = nullptr;
  }

 private:
  const Target* target_ = nullptr;
};

// The targets one request has tried (by index in the group), so that a retry goes elsewhere.
class Tried {
 public:
  void add(std::size_t index) {
    if (index < 64) bits_ |= uint64_t{1} << index;
  }
  bool contains(std::size_t index) const { return index < 64 && (bits_ >> index) & 1; }

 private:
  uint64_t bits_ = 0;
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

  // The next usable target for a request on `worker` (only that worker's thread may call
  // this), one not in `tried` while there is such a one; none when no target is usable (503).
  Lease pick(int worker, const Tried& tried = {});
  // The index of a target of this group (for Tried).
  std::size_t index_of(const Target& target) const { return &target - targets_.data(); }

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
