// Cancellation of an exchange's waits. Whatever an exchange waits on — a socket, a result from
// another connection or from the control thread (Completion) — is registered here for the length
// of the wait; a deadline or the client going away interrupts it through this one place, so no
// wait can outlive the route's deadline or its client.
#pragma once

namespace turnpike::net {

class Cancellation {
 public:
  // How to interrupt the current wait: `fn(target)` (abort a socket, cancel a Completion).
  struct Target {
    void (*fn)(void*) = nullptr;
    void* target = nullptr;
  };

  // The wait about to start; interrupted at once when the exchange is already cancelled.
  void watch(Target t) {
    current_ = t;
    if (cancelled_ && current_.fn) current_.fn(current_.target);
  }
  template <typename T>
  void watch(T& waitable) {
    watch(Target{[](void* p) { static_cast<T*>(p)->abort(); }, &waitable});
  }
  // The wait is over (its waitable may go away).
  void clear() { current_ = {}; }

  // Interrupts the current wait (an upstream deadline: the exchange may still answer).
  void interrupt() {
    if (current_.fn) current_.fn(current_.target);
  }
  // Interrupts the current wait and every later one (the client is gone, the route's deadline
  // passed): nothing more is waited for.
  void cancel() {
    cancelled_ = true;
    interrupt();
  }
  bool cancelled() const { return cancelled_; }

 private:
  Target current_;
  bool cancelled_ = false;
};

// Registers a wait for a scope.
class Watch {
 public:
  template <typename T>
  Watch(Cancellation& c, T& waitable) : c_(c) {
    c_.watch(waitable);
  }
  ~Watch() { c_.clear(); }
  Watch(const Watch&) = delete;
  Watch& operator=(const Watch&) = delete;

 private:
  Cancellation& c_;
};

}  // namespace turnpike::net
