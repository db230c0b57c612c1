// Per-target state shared by every worker: in-flight requests, consecutive failures, circuit
// state and health, keyed by the target's stable pool id, so that it survives reloads with the
// target. Workers read and write it with relaxed atomics and no lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace turnpike::upstream {

enum class Circuit : uint8_t { kClosed = 0, kHalfOpen = 1, kOpen = 2 };  // SPEC §7 values

// One cache line each: workers on different cores update different targets without sharing.
struct alignas(64) TargetState {
  std::atomic<int32_t> in_flight{0};             // attempts holding a lease now
  std::atomic<uint32_t> consecutive_failures{0};  // reset by a success
  std::atomic<uint8_t> circuit{static_cast<uint8_t>(Circuit::kClosed)};
  std::atomic<bool> healthy{true};

  // A target a new request may be sent to.
  bool usable() const {
    return healthy.load(std::memory_order_relaxed) &&
           circuit.load(std::memory_order_relaxed) != static_cast<uint8_t>(Circuit::kOpen);
  }
};

// Every target's state, by pool id. Entries are made on first use and never move or go away
// (a pool id is never reused), so a reference stays valid for the life of the process.
class TargetStates {
 public:
  TargetStates();
  ~TargetStates();
  TargetStates(const TargetStates&) = delete;
  TargetStates& operator=(const TargetStates&) = delete;

  TargetState& at(uint32_t pool_id);

 private:
  static constexpr uint32_t kChunk = 1024;
  static constexpr uint32_t kChunks = 4096;  // 4 Mi targets
  std::unique_ptr<std::atomic<TargetState*>[]> chunks_;
};

TargetStates& target_states();  // the process's

}  // namespace turnpike::upstream
