// The local rate limiter: GCRA (a token bucket kept as one "theoretical arrival time" per key)
// in a fixed-capacity table shared by every worker. Exact across threads without a lock for a
// key that has a slot (one compare-and-swap per request); memory fixed when the route is built.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

namespace turnpike::plugins::rate_limit {

// `burst` requests at once, then one every `interval_ns`: the bucket refills at limit/window.
struct Rate {
  int64_t interval_ns = 0;   // window / limit, rounded up (never faster than configured)
  int64_t tolerance_ns = 0;  // burst * interval: how far ahead of now a key's TAT may run
  uint64_t burst = 0;

  static Rate of(uint64_t limit, int64_t window_ns, uint64_t burst);
};

// What one request was told. The times are from the moment of the decision.
struct Decision {
  bool allowed = true;
  bool tracked = true;         // false: the table had no room for the key (allowed, uncounted)
  uint64_t remaining = 0;      // requests the key may still send at once
  int64_t reset_ns = 0;        // until the bucket is full again
  int64_t retry_after_ns = 0;  // refused: until one request would be allowed
};

// GCRA on one TAT, without the table: what `take` decides for a key whose TAT is `tat`
// (0 for a key never seen), and the TAT it leaves when allowed (`next`).
Decision gcra(const Rate& rate, int64_t tat, int64_t now_ns, int64_t* next);

class Limiter {
 public:
  // Room for at least `max_keys` keys (rounded up to a power of two of groups of kWays slots),
  // allocated at the first request, so a route that is never used costs nothing.
  Limiter(const Rate& rate, uint64_t max_keys);

  // Counts one request of `key` (a hash; 0 is allowed) at `now_ns` (steady clock).
  Decision take(uint64_t key, int64_t now_ns);
  // What the key's bucket holds at `now_ns`, without counting a request.
  Decision peek(uint64_t key, int64_t now_ns) const;

  const Rate& rate() const { return rate_; }
  uint64_t capacity() const { return (mask_ + 1) * kWays; }  // slots
  // Requests let through untracked because the key found no slot (see take()).
  uint64_t untracked() const { return untracked_.load(std::memory_order_relaxed); }

  // Slots a key may occupy: the kWays slots of the group its hash picks.
  static constexpr uint64_t kWays = 16;

 private:
  // A key's state. `key` changes only while `tat` is kBusy, set by the thread placing a key
  // under its stripe lock; a TAT only grows otherwise, so a TAT read twice unchanged means
  // the key read between them belonged to it.
  struct Slot {
    std::atomic<uint64_t> key{0};
    std::atomic<int64_t> tat{0};  // <= now: the bucket is full; the slot may be reused
  };
  static constexpr int64_t kBusy = INT64_MIN;
  static constexpr std::size_t kStripes = 64;

  enum class Placed : uint8_t { kTaken, kAlreadyThere, kFull };
  Slot* slots();  // allocated on first use
  static Slot* find(Slot* group, uint64_t key);
  // Places `key`, which its group did not hold, under the group's stripe lock and takes its
  // first request into `d`; or finds that another thread placed it meanwhile, or that every
  // slot of the group holds a key whose bucket is not full yet.
  Placed place(Slot* group, uint64_t key, int64_t now_ns, Decision* d);

  Rate rate_;
  uint64_t mask_;  // groups - 1
  std::atomic<Slot*> slots_{nullptr};
  std::unique_ptr<Slot[]> owned_;
  std::mutex stripes_[kStripes];  // by group: placing a key, and allocating (stripe 0)
  std::atomic<uint64_t> untracked_{0};
};

}  // namespace turnpike::plugins::rate_limit
