// Task<T>: the data plane's coroutine type. Lazily started, resumed by its awaiter, finished by
// symmetric transfer back to it; frames come from a per-thread free list.
//
// Why not asio::awaitable: every co_await of an asio operation through use_awaitable allocates a
// frame of its own and drags an executor through every frame. A request makes a handful of
// awaits; this type keeps each one to a callback and a resume (see io.h), and an idle connection
// to a few hundred bytes.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <utility>

namespace turnpike::net {

// Coroutine frames of the data plane are recycled per thread (sizes rounded up to 256 bytes).
void* allocate_frame(std::size_t size);
void free_frame(void* frame, std::size_t size) noexcept;

namespace detail {

struct PromiseBase {
  std::coroutine_handle<> continuation = std::noop_coroutine();
  bool detached = false;  // started by spawn(): frees itself when it finishes

  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      if (self.promise().detached) {
        self.destroy();  // allowed: the coroutine is suspended at its final point
        return std::noop_coroutine();
      }
      return self.promise().continuation;
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  // The data plane does not throw; an exception escaping a task is a bug.
  void unhandled_exception() const noexcept { std::terminate(); }

  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept { free_frame(frame, size); }
};

}  // namespace detail

template <typename T>
class Task;

namespace detail {

// What Task<T> and Task<void> share: the owned frame, and being awaited (the awaiter becomes the
// continuation and the task starts by symmetric transfer).
template <typename Promise>
class TaskBase {
 public:
  using Handle = std::coroutine_handle<Promise>;
  TaskBase(TaskBase&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  TaskBase& operator=(TaskBase&&) = delete;
  ~TaskBase() {
    if (handle_) handle_.destroy();
  }
  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> caller) noexcept {
    handle_.promise().continuation = caller;
    return handle_;
  }

 protected:
  explicit TaskBase(Handle h) : handle_(h) {}
  Handle handle_;
};

template <typename T>
struct ValuePromise : PromiseBase {
  std::optional<T> value;
  Task<T> get_return_object();
  template <typename U>
  void return_value(U&& v) {
    value.emplace(std::forward<U>(v));
  }
};

struct VoidPromise : PromiseBase {
  Task<void> get_return_object();
  void return_void() const noexcept {}
};

}  // namespace detail

template <typename T = void>
class [[nodiscard]] Task : public detail::TaskBase<detail::ValuePromise<T>> {
 public:
  using promise_type = detail::ValuePromise<T>;
  T await_resume() { return std::move(*this->handle_.promise().value); }

 private:
  friend promise_type;
  using detail::TaskBase<promise_type>::TaskBase;
};

template <>
class [[nodiscard]] Task<void> : public detail::TaskBase<detail::VoidPromise> {
 public:
  using promise_type = detail::VoidPromise;
  void await_resume() const noexcept {}

  // Starts the task now, on the calling thread; it runs until its first suspension and frees
  // itself when it finishes. The task must own everything it uses.
  friend void spawn(Task<void> task) {
    Handle h = std::exchange(task.handle_, {});
    h.promise().detached = true;
    h.resume();
  }

 private:
  friend promise_type;
  using detail::TaskBase<promise_type>::TaskBase;
};

namespace detail {
template <typename T>
Task<T> ValuePromise<T>::get_return_object() {
  return Task<T>(std::coroutine_handle<ValuePromise<T>>::from_promise(*this));
}
inline Task<void> VoidPromise::get_return_object() {
  return Task<void>(std::coroutine_handle<VoidPromise>::from_promise(*this));
}
}  // namespace detail

void spawn(Task<void> task);

}  // namespace turnpike::net
