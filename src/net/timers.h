// Deadlines for the data plane: O(1) to arm and disarm, no syscall, checked by the event loop.
//
// Every wait on a connection has a deadline, and most are re-armed on every request. Deadlines
// with the same duration expire in the order they were armed, so each distinct duration keeps
// one FIFO list: arming appends, the loop only looks at list heads, and its epoll_wait sleeps
// until the earliest head is due.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

namespace turnpike::net {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::milliseconds;

class Timers;

// One deadline, embedded in the object whose waits it bounds. When it expires, `on_expire(owner)`
// runs on the loop's thread; the owner then cancels whatever it waits for.
class Deadline {
 public:
  using Callback = void (*)(void* owner);
  Deadline(void* owner, Callback on_expire) : owner_(owner), on_expire_(on_expire) {}
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  ~Deadline();

  bool armed() const { return list_ != nullptr; }
  // True once it fired, until armed again.
  bool expired() const { return expired_; }
  void clear_expired() { expired_ = false; }

 private:
  friend class Timers;
  struct List;
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
  List* list_ = nullptr;
  List* last_list_ = nullptr;  // most deadlines are re-armed with the same duration
  Timers* timers_ = nullptr;
  Clock::time_point at_{};
  void* owner_;
  Callback on_expire_;
  bool expired_ = false;
};

class Timers {
 public:
  Timers();
  ~Timers();

  // (Re)arms `d` to expire `after` from the loop's current time.
  void arm(Deadline& d, Duration after);
  void disarm(Deadline& d);

  // The loop's notion of now, set once per iteration (one clock read per wake-up).
  void set_now(Clock::time_point now) { now_ = now; }
  Clock::time_point now() const { return now_; }
  // Fires every deadline due at `now`.
  void expire(Clock::time_point now);
  // Milliseconds until the earliest deadline (rounded up), or `none` when nothing is armed.
  int milliseconds_to_next(int none) const;
  std::size_t armed_count() const { return armed_; }

 private:
  Deadline::List* list_for(Duration after);

  Clock::time_point now_ = Clock::now();
  std::vector<std::unique_ptr<Deadline::List>> lists_;
  std::size_t armed_ = 0;
};

// Arms a deadline for a scope and disarms it when the scope ends, whatever the exit path.
class ScopedDeadline {
 public:
  ScopedDeadline(Timers& timers, Deadline& d, Duration after) : timers_(timers), d_(d) {
    timers_.arm(d_, after);
  }
  ~ScopedDeadline() { timers_.disarm(d_); }
  ScopedDeadline(const ScopedDeadline&) = delete;
  ScopedDeadline& operator=(const ScopedDeadline&) = delete;

 private:
  Timers& timers_;
  Deadline& d_;
};

}  // namespace turnpike::net
