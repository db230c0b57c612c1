// The local rate limiter (see limiter.h).
//
// GCRA keeps, per key, the theoretical arrival time (TAT) of the next request if requests came
// exactly at the configured rate. A request at `now` is allowed when max(TAT, now) + interval
// is at most `tolerance` ahead of now, and then moves the TAT there. A TAT at or before now is a
// full bucket: the key is idle and its slot may be given to another key.
#include "plugins/rate_limit/limiter.h"

#include <algorithm>
#include <bit>
#include <thread>

namespace turnpike::plugins::rate_limit {
namespace {

// Waits a moment for the thread placing a key to finish its three stores; yields the CPU now and
// then in case that thread was preempted in between.
void wait_for_placement(unsigned& spins) {
  if (++spins % 64 == 0) {
    std::this_thread::yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

Rate Rate::of(uint64_t limit, int64_t window_ns, uint64_t burst) {
  Rate r;
  r.interval_ns = (window_ns + static_cast<int64_t>(limit) - 1) / static_cast<int64_t>(limit);
  r.tolerance_ns = static_cast<int64_t>(burst) * r.interval_ns;
  r.burst = burst;
  return r;
}

Decision gcra(const Rate& rate, int64_t tat, int64_t now_ns, int64_t* next) {
  int64_t base = std::max(tat, now_ns);
  int64_t after = base + rate.interval_ns;
  Decision d;
  if (after - now_ns > rate.tolerance_ns) {
    d.allowed = false;
    d.reset_ns = base - now_ns;
    d.retry_after_ns = after - now_ns - rate.tolerance_ns;
    return d;
  }
  *next = after;
  d.remaining = static_cast<uint64_t>((rate.tolerance_ns - (after - now_ns)) / rate.interval_ns);
  d.reset_ns = after - now_ns;
  return d;
}

Limiter::Limiter(const Rate& rate, uint64_t max_keys) : rate_(rate) {
  uint64_t groups = std::bit_ceil(std::max<uint64_t>(1, (max_keys + kWays - 1) / kWays));
  mask_ = groups - 1;
}

Limiter::Slot* Limiter::slots() {
  Slot* s = slots_.load(std::memory_order_acquire);
  if (s) return s;
  std::lock_guard lock(stripes_[0]);
  if (!owned_) {
    owned_ = std::make_unique<Slot[]>(capacity());
    slots_.store(owned_.get(), std::memory_order_release);
  }
  return owned_.get();
}

Limiter::Slot* Limiter::find(Slot* group, uint64_t key) {
  for (uint64_t i = 0; i < kWays; ++i) {
    if (group[i].key.load() == key) return &group[i];
  }
  return nullptr;
}

Limiter::Placed Limiter::place(Slot* group, uint64_t key, int64_t now_ns, Decision* d) {
  std::lock_guard lock(stripes_[(key & mask_) % kStripes]);
  if (find(group, key)) return Placed::kAlreadyThere;
  for (uint64_t i = 0; i < kWays; ++i) {
    Slot& s = group[i];
    int64_t tat = s.tat.load();
    if (tat == kBusy || tat > now_ns) continue;  // a key still counting
    // Fails when a request of the slot's key moved its TAT since: that key is not idle.
    if (!s.tat.compare_exchange_strong(tat, kBusy)) continue;
    s.key.store(key);
    int64_t next = 0;
    *d = gcra(rate_, 0, now_ns, &next);  // a full bucket: always allowed
    s.tat.store(next);
    return Placed::kTaken;
  }
  return Placed::kFull;
}

Decision Limiter::take(uint64_t key, int64_t now_ns) {
  Slot* group = &slots()[(key & mask_) * kWays];
  unsigned spins = 0;
  for (;;) {
    Slot* s = find(group, key);
    if (!s) {
      Decision d;
      Placed placed = place(group, key, now_ns, &d);
      if (placed == Placed::kTaken) return d;
      if (placed == Placed::kAlreadyThere) continue;
      // No room: let the request through (the key would start with a full bucket anyway) and
      // count it, rather than refuse every new client while the table is full.
      untracked_.fetch_add(1, std::memory_order_relaxed);
      int64_t unused;
      d = gcra(rate_, 0, now_ns, &unused);
      d.tracked = false;
      return d;
    }
    int64_t tat = s->tat.load();
    if (tat == kBusy) {  // the slot is being given to a key (maybe this one)
      wait_for_placement(spins);
      continue;
    }
    if (s->key.load() != key) continue;  // given to another key since find()
    int64_t next = 0;
    Decision d = gcra(rate_, tat, now_ns, &next);
    if (!d.allowed) {
      if (s->tat.load() == tat) return d;  // the key and TAT read belong together
      continue;
    }
    if (s->tat.compare_exchange_weak(tat, next)) return d;
  }
}

Decision Limiter::peek(uint64_t key, int64_t now_ns) const {
  Slot* all = slots_.load(std::memory_order_acquire);
  Slot* s = all ? find(&all[(key & mask_) * kWays], key) : nullptr;
  int64_t tat = s ? s->tat.load() : 0;
  if (tat == kBusy) tat = 0;
  int64_t ahead = std::max<int64_t>(0, tat - now_ns);
  Decision d;
  d.remaining = static_cast<uint64_t>((rate_.tolerance_ns - ahead) / rate_.interval_ns);
  d.reset_ns = ahead;
  return d;
}

}  // namespace turnpike::plugins::rate_limit
