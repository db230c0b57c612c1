// A worker's proxy state: its listeners, client connections, upstream pool and snapshot handle.
// Everything here is touched by one worker thread only, except the Shared block.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "net/socket.h"
#include "net/worker.h"
#include "observe/access_log.h"
#include "observe/metrics.h"
#include "observe/otlp.h"
#include "proxy/snapshot.h"
#include "proxy/upstream_pool.h"

namespace turnpike::proxy {

class ClientConnection;

// What all workers share: written by the control thread, read by workers.
struct Shared {
  SnapshotCell snapshots;
  std::atomic<int64_t> connections{0};  // client connections open, all workers
  observe::AccessLog* access_log = nullptr;
  observe::OtlpExporter* tracer = nullptr;
  // Where workers hand snapshots they no longer use, to be freed off the request path.
  LocalSnapshot::Retire retire_snapshot;
};

struct ListenerSocket {
  std::string name;
  int fd = -1;  // bound and listening (SO_REUSEPORT), owned by the engine once started
};

class Engine {
 public:
  Engine(net::Worker& worker, Shared& shared);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  net::Worker& worker() { return worker_; }
  net::Loop& loop() { return worker_.loop(); }
  net::Timers& timers() { return worker_.timers(); }
  net::BufferPool& buffers() { return worker_.buffers(); }
  Shared& shared() { return shared_; }
  // The newest snapshot, pinned for a request. The first time a worker sees a snapshot it also
  // closes idle connections to targets that snapshot no longer has.
  LocalSnapshot::Pin pin();
  UpstreamPool& upstream_pool() { return pool_; }
  observe::WorkerMetrics& metrics() { return metrics_; }
  // A copy of this worker's metrics with pooled connection counts filled in (worker thread).
  observe::WorkerMetrics metrics_copy();
  observe::AccessLog& access_log() { return *shared_.access_log; }
  observe::OtlpExporter& tracer() { return *shared_.tracer; }
  uint64_t random() { return random_.next(); }
  bool draining() const { return draining_; }
  // The drain timeout passed and close_all_connections() cut what was still in flight.
  bool drain_cut() const { return drain_cut_; }

  // On the worker's thread: starts accepting on these listening sockets.
  void start(std::vector<ListenerSocket> listeners);
  // On the worker's thread: adopt the newest snapshot now and close idle connections to targets
  // it no longer has (their in-flight requests finish on the snapshot they started with).
  void refresh_snapshot();
  // On the worker's thread: stop accepting, close idle client and upstream connections; busy
  // connections close after their current response.
  void begin_drain();
  // On the worker's thread, when the drain timeout has passed: ends every connection now
  // (requests in flight are cut; their upstream connections are closed).
  void close_all_connections();

  // A new request id: 32 lower-case hex digits.
  void new_request_id(char out[32]);

  // Client connection registry (for drain).
  void attach(ClientConnection* c);
  void detach(ClientConnection* c);

 private:
  net::Task<void> accept_loop(std::size_t index);

  net::Worker& worker_;
  Shared& shared_;
  LocalSnapshot snapshots_;
  uint64_t pruned_generation_ = 0;
  observe::WorkerMetrics metrics_;
  UpstreamPool pool_;
  std::vector<ListenerSocket> listeners_;
  std::vector<std::unique_ptr<net::Socket>> listen_sockets_;
  ClientConnection* connections_ = nullptr;  // intrusive list head
  // xoshiro256**: ids need to be unique and unguessable enough for tracing, not cryptographic;
  // four times cheaper than std::mt19937_64 on the request path.
  struct Xoshiro {
    uint64_t s[4];
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t next() {
      uint64_t result = rotl(s[1] * 5, 7) * 9;
      uint64_t t = s[1] << 17;
      s[2] ^= s[0];
      s[3] ^= s[1];
      s[1] ^= s[2];
      s[0] ^= s[3];
      s[2] ^= t;
      s[3] = rotl(s[3], 45);
      return result;
    }
  } random_;
  bool draining_ = false;
  bool drain_cut_ = false;
};

}  // namespace turnpike::proxy
