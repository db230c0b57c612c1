// The event loop: one per thread, edge-triggered epoll, readiness-based I/O for coroutines.
//
// A socket is registered once (EPOLLIN|EPOLLOUT|EPOLLRDHUP, edge-triggered) and never re-armed;
// the loop records readiness and resumes the coroutine waiting for it. A read or write is a plain
// non-blocking syscall made by the coroutine itself, so a keep-alive request costs exactly one
// recv and one send per side plus a shared epoll_wait (see docs/architecture.md for why this is
// not Boost.Asio).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "net/timers.h"

namespace turnpike::net {

class Loop;

// Told about readiness that arrives while no coroutine waits for it (e.g. a client hanging up
// while its request is with the upstream, or an idle pooled connection being closed).
class ReadinessListener {
 public:
  virtual void on_readiness(uint32_t epoll_events) = 0;

 protected:
  ~ReadinessListener() = default;
};

// An operation waiting on a socket: when readiness arrives the loop calls perform(), which makes
// the syscall; true means done (the coroutine resumes), false means the kernel said EAGAIN
// after all and the operation keeps waiting. Lives in the awaiting coroutine's frame.
class IoWaiter {
 public:
  virtual bool perform() = 0;
  std::coroutine_handle<> handle;

 protected:
  ~IoWaiter() = default;
};

// The loop's view of one registered descriptor. Owned by a Socket; freed by the loop after the
// current batch of events, so a stale event never touches freed memory.
struct IoState {
  Loop* loop = nullptr;
  int fd = -1;
  bool readable = false;  // the last event said so and no read has since said EAGAIN
  bool writable = false;
  bool closed = false;
  bool hangup = false;  // EPOLLRDHUP/EPOLLHUP/EPOLLERR seen
  bool socket = true;   // recv() for sockets (a shorter kernel path than read()), else read()
  IoWaiter* read_waiter = nullptr;
  IoWaiter* write_waiter = nullptr;
  ReadinessListener* listener = nullptr;
};

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until stop(); returns at once when stopped before.
  void run();
  // Thread-safe.
  void stop();
  // Runs `fn` on the loop's thread (thread-safe).
  void post(std::function<void()> fn);
  // Resumes `h` from the loop's top level, after the current event (loop thread only). Used to
  // wake a coroutine from code that must not run it inline.
  void schedule(std::coroutine_handle<> h) { ready_.push_back(h); }

  Timers& timers() { return timers_; }
  Clock::time_point now() const { return timers_.now(); }

  // Registers `fd` (already non-blocking; `socket`: false for signalfd, inotify and the like);
  // null on failure with errno set.
  IoState* add(int fd, bool socket = true);
  // Closes the descriptor, wakes its waiters as cancelled, frees the state after this batch.
  void remove(IoState* state);

 private:
  void dispatch(IoState* state, uint32_t events);
  void run_posted();
  void run_ready();

  int epoll_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: post() and stop() from other threads
  IoState wake_state_;
  Timers timers_;
  std::deque<std::coroutine_handle<>> ready_;
  std::vector<IoState*> graveyard_;
  std::mutex posted_mutex_;
  std::vector<std::function<void()>> posted_;
  std::atomic<bool> stopping_{false};
};

// co_await yield(loop): lets every coroutine already scheduled run first.
struct Yield {
  Loop& loop;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) { loop.schedule(h); }
  void await_resume() const noexcept {}
};
inline Yield yield(Loop& loop) { return Yield{loop}; }

// co_await sleep(loop, d): resumes after `d` (used for back-off, never on the request path).
class Sleep {
 public:
  Sleep(Loop& loop, Duration d) : loop_(loop), duration_(d), deadline_(this, &fire) {}
  bool await_ready() const noexcept { return duration_.count() <= 0; }
  void await_suspend(std::coroutine_handle<> h) {
    waiter_ = h;
    loop_.timers().arm(deadline_, duration_);
  }
  void await_resume() const noexcept {}

 private:
  static void fire(void* self) {
    auto* s = static_cast<Sleep*>(self);
    s->loop_.schedule(s->waiter_);
  }
  Loop& loop_;
  Duration duration_;
  Deadline deadline_;
  std::coroutine_handle<> waiter_;
};
inline Sleep sleep(Loop& loop, Duration d) { return Sleep(loop, d); }

}  // namespace turnpike::net
