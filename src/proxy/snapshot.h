// The running configuration, compiled: router, upstream groups and per-route runtime, published
// as one immutable Snapshot. A request pins the snapshot it started with; the next request sees
// the newest one.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/model.h"
#include "net/tls.h"
#include "plugins/chain.h"
#include "plugins/consumers.h"
#include "routing/router.h"
#include "upstream/group.h"

namespace turnpike::proxy {

struct RouteRuntime {
  const config::Route* spec = nullptr;
  upstream::Group* group = nullptr;  // null for builtin:echo
  bool echo = false;
  uint32_t metrics_id = 0;  // observe::route_ids() of the route's name
  plugins::Chain plugins;
};

struct Snapshot {
  uint64_t generation = 0;
  std::shared_ptr<const config::Config> config;
  std::unique_ptr<routing::Router> router;
  std::vector<RouteRuntime> routes;  // indexed like config->routes
  std::map<std::string, std::shared_ptr<upstream::Group>> groups;
  std::map<std::string, std::shared_ptr<const net::TlsServer>> tls;  // by listener name
  plugins::Consumers consumers;  // over config->consumers
};

// Compiles `config` for `workers` workers. Upstream groups whose definition is unchanged from
// `previous` are carried over (their balancer state with them). Null on errors, which name paths.
std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                               int workers, uint64_t generation,
                                               const Snapshot* previous,
                                               std::vector<config::ConfigError>& errors);

// Where the control thread publishes snapshots and workers pick them up.
class SnapshotCell {
 public:
  void publish(std::shared_ptr<const Snapshot> snapshot);
  std::shared_ptr<const Snapshot> load() const;
  // Bumped by every publish; a worker compares it with one relaxed load per request.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const Snapshot> current_;
  std::atomic<uint64_t> version_{0};
};

// A worker's handle on the current snapshot. Requests pin it with a plain counter, so workers
// never write to a shared reference count on the request path. A snapshot the worker lets go of
// is handed to `retire` (the control thread frees it: destroying 10,000 routes must not stall a
// worker).
class LocalSnapshot {
 public:
  using Retire = std::function<void(std::shared_ptr<const Snapshot>)>;

 private:
  struct Held {
    std::shared_ptr<const Snapshot> snapshot;
    uint64_t version = 0;
    uint32_t pins = 0;
    bool retired = false;
    const Retire* retire = nullptr;
    ~Held() {
      if (retire && *retire && snapshot) (*retire)(std::move(snapshot));
    }
  };

 public:
  class Pin {
   public:
    Pin() = default;
    explicit Pin(Held* held) : held_(held) { ++held_->pins; }
    Pin(Pin&& other) noexcept : held_(std::exchange(other.held_, nullptr)) {}
    Pin& operator=(Pin&& other) noexcept {
      if (this != &other) {
        release();
        held_ = std::exchange(other.held_, nullptr);
      }
      return *this;
    }
    ~Pin() { release(); }
    const Snapshot* operator->() const { return held_->snapshot.get(); }
    const Snapshot& operator*() const { return *held_->snapshot; }
    explicit operator bool() const { return held_ != nullptr; }

   private:
    void release() {
      if (held_ && --held_->pins == 0 && held_->retired) delete held_;
      held_ = nullptr;
    }
    Held* held_ = nullptr;
  };

  explicit LocalSnapshot(const SnapshotCell& cell, Retire retire = {})
      : cell_(cell), retire_(std::move(retire)) {}
  ~LocalSnapshot();
  LocalSnapshot(const LocalSnapshot&) = delete;
  LocalSnapshot& operator=(const LocalSnapshot&) = delete;

  // The newest snapshot, pinned for as long as the Pin lives.
  Pin pin();

 private:
  const SnapshotCell& cell_;
  Retire retire_;
  Held* current_ = nullptr;
};

}  // namespace turnpike::proxy
