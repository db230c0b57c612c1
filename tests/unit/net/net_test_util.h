// Helpers for tests that run a real Loop: a watchdog so that a broken test fails in bounded time
// instead of hanging, and connected socket pairs.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "net/loop.h"
#include "net/timers.h"

namespace turnpike::net::testing_util {

// Runs `loop` until something stops it; fails the test (and stops the loop) after `limit`.
class Watchdog {
 public:
  Watchdog(Loop& loop, Duration limit) : loop_(loop) { loop_.timers().arm(deadline_, limit); }
  bool fired() const { return fired_; }

 private:
  static void fire(void* self) {
    auto* w = static_cast<Watchdog*>(self);
    w->fired_ = true;
    w->loop_.stop();
  }
  Loop& loop_;
  bool fired_ = false;
  Deadline deadline_{this, &fire};
};

inline void run_loop(Loop& loop, Duration limit = std::chrono::seconds(3)) {
  Watchdog watchdog(loop, limit);
  loop.run();
  EXPECT_FALSE(watchdog.fired()) << "the loop was still running after the time limit";
}

// A connected, non-blocking AF_UNIX stream pair.
inline std::pair<int, int> socket_pair() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  return {fds[0], fds[1]};
}

}  // namespace turnpike::net::testing_util
