// A worker's idle keep-alive connections to upstream targets, most recently used first. An idle
// connection that the upstream closes (or that talks out of turn) is dropped at once, and one idle
// longer than the upstream's keepalive.idle_timeout is closed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "config/model.h"
#include "net/socket.h"
#include "net/timers.h"
#include "observe/metrics.h"

namespace turnpike::proxy {

class UpstreamPool;

class UpstreamConnection final : public net::ReadinessListener {
 public:
  // Counts itself in the target's live connections (the worker's metrics) while it exists.
  UpstreamConnection(net::Socket s, uint32_t pool_id, observe::WorkerMetrics& metrics)
      : socket(std::move(s)), pool_id(pool_id), metrics_(metrics),
        idle_deadline_(this, &on_idle_expired) {
    ++metrics_.target(pool_id).active;
  }
  ~UpstreamConnection();
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  net::Socket socket;
  uint32_t pool_id;
  uint32_t requests = 0;  // requests sent on this connection so far

 private:
  friend class UpstreamPool;
  void on_readiness(uint32_t events) override;
  static void on_idle_expired(void* self);

  observe::WorkerMetrics& metrics_;
  UpstreamPool* pool_ = nullptr;  // set while idle in the pool
  UpstreamConnection* next_ = nullptr;
  UpstreamConnection* prev_ = nullptr;
  net::Deadline idle_deadline_;
};

class UpstreamPool {
 public:
  explicit UpstreamPool(net::Timers& timers) : timers_(timers) {}
  ~UpstreamPool();
  UpstreamPool(const UpstreamPool&) = delete;
  UpstreamPool& operator=(const UpstreamPool&) = delete;

  // The most recently used idle connection to this target, or null.
  std::unique_ptr<UpstreamConnection> take(uint32_t pool_id);
  // Keeps `conn` for reuse, or closes it when the target's idle list is full or the target is no
  // longer in the configuration.
  void put(std::unique_ptr<UpstreamConnection> conn, const config::Keepalive& keepalive);
  // Closes every idle connection (drain) or those of one target.
  void close_all();
  void close_target(uint32_t pool_id);
  // Closes the idle connections of every target not marked in `keep` (indexed by pool id).
  void retain(const std::vector<bool>& keep);
  std::size_t idle(uint32_t pool_id) const;

 private:
  friend class UpstreamConnection;
  struct Slot {
    UpstreamConnection* head = nullptr;
    std::size_t count = 0;
  };
  void unlink(UpstreamConnection* conn);
  void discard(UpstreamConnection* conn);

  net::Timers& timers_;
  std::vector<Slot> slots_;  // indexed by pool id
  std::vector<bool> keep_;   // targets of the running configuration (empty: all)
};

}  // namespace turnpike::proxy
