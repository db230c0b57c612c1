// Completion<T>: one result delivered to one waiting coroutine from elsewhere — another
// connection's coroutine on the same loop, or (through Loop::post) the control thread — that can
// also be ended without a result by abort() (a deadline, the client leaving; see cancel.h).
#pragma once

#include <coroutine>
#include <optional>
#include <utility>

#include "net/loop.h"

namespace turnpike::net {

template <typename T>
class Completion {
 public:
  explicit Completion(Loop& loop) : loop_(loop) {}
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;

  // Delivers the result (loop thread). A waiter resumes from the loop's top level, never inside
  // the caller; a result that comes after abort() or a second result is dropped.
  void complete(T value) {
    if (done_) return;
    value_.emplace(std::move(value));
    finish();
  }
  // Ends the wait without a result (loop thread).
  void abort() {
    if (!done_) finish();
  }
  bool done() const { return done_; }

  // co_await c.wait(): the result, or nullopt when aborted.
  auto wait() {
    struct Awaiter {
      Completion& c;
      bool await_ready() const noexcept { return c.done_; }
      void await_suspend(std::coroutine_handle<> h) { c.waiter_ = h; }
      std::optional<T> await_resume() { return std::move(c.value_); }
    };
    return Awaiter{*this};
  }

 private:
  void finish() {
    done_ = true;
    if (waiter_) loop_.schedule(std::exchange(waiter_, {}));
  }

  Loop& loop_;
  std::optional<T> value_;
  std::coroutine_handle<> waiter_;
  bool done_ = false;
};

}  // namespace turnpike::net
