// The epoll loop (see loop.h).
#include "net/loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace turnpike::net {
namespace {
constexpr int kMaxEvents = 256;
constexpr uint32_t kHangup = EPOLLRDHUP | EPOLLHUP | EPOLLERR;
}  // namespace

Loop::Loop() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epoll_fd_ < 0 || wake_fd_ < 0) {
    throw std::system_error(errno, std::generic_category(), "cannot create event loop");
  }
  wake_state_.loop = this;
  wake_state_.fd = wake_fd_;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLET;
  ev.data.ptr = &wake_state_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

Loop::~Loop() {
  for (IoState* s : graveyard_) delete s;
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

IoState* Loop::add(int fd, bool socket) {
  auto* state = new IoState();
  state->loop = this;
  state->fd = fd;
  state->socket = socket;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = state;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    int saved = errno;
    delete state;
    errno = saved;
    return nullptr;
  }
  return state;
}

void Loop::remove(IoState* state) {
  if (state->closed) return;
  state->closed = true;
  // Closing removes the descriptor from the epoll set (it is never duplicated).
  ::close(state->fd);
  state->fd = -1;
  if (IoWaiter* w = std::exchange(state->read_waiter, nullptr)) {
    schedule(w->handle);
  }
  if (IoWaiter* w = std::exchange(state->write_waiter, nullptr)) {
    schedule(w->handle);
  }
  state->listener = nullptr;
  graveyard_.push_back(state);
}

void Loop::dispatch(IoState* s, uint32_t events) {
  if (s->closed) return;
  if (events & (EPOLLIN | kHangup)) s->readable = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) s->writable = true;
  if (events & kHangup) s->hangup = true;
  bool woke = false;
  if (s->readable && s->read_waiter) {
    woke = true;
    IoWaiter* w = s->read_waiter;
    if (w->perform()) {
      s->read_waiter = nullptr;
      w->handle.resume();
    }
  }
  // The resumed coroutine may have closed the socket; its state lives until the batch ends.
  if (!s->closed && s->writable && s->write_waiter) {
    woke = true;
    IoWaiter* w = s->write_waiter;
    if (w->perform()) {
      s->write_waiter = nullptr;
      w->handle.resume();
    }
  }
  if (!woke && !s->closed && s->listener && (events & (EPOLLIN | kHangup))) {
    s->listener->on_readiness(events);
  }
}

void Loop::run_posted() {
  uint64_t count;
  while (::read(wake_fd_, &count, sizeof(count)) > 0) {
  }
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(posted_mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) fn();
}

void Loop::run_ready() {
  while (!ready_.empty()) {
    auto h = ready_.front();
    ready_.pop_front();
    h.resume();
  }
}

void Loop::run() {
  epoll_event events[kMaxEvents];
  timers_.set_now(Clock::now());
  while (!stopping_.load(std::memory_order_relaxed)) {
    run_ready();
    int timeout = timers_.milliseconds_to_next(-1);
    int n = ::epoll_wait(epoll_fd_, events, kMaxEvents, ready_.empty() ? timeout : 0);
    timers_.set_now(Clock::now());
    for (int i = 0; i < n; ++i) {
      auto* s = static_cast<IoState*>(events[i].data.ptr);
      if (s == &wake_state_) {
        run_posted();
      } else {
        dispatch(s, events[i].events);
      }
    }
    timers_.expire(timers_.now());
    run_ready();
    for (IoState* s : graveyard_) delete s;
    graveyard_.clear();
  }
  // What was handed over before stop() still runs (a drain's begin_drain posted just before the
  // stop), and what it wakes runs too: no coroutine is left suspended on a wake-up that was
  // already delivered (at exit, its frame would be lost).
  run_posted();
  run_ready();
  for (IoState* s : graveyard_) delete s;
  graveyard_.clear();
}

void Loop::stop() {
  stopping_.store(true, std::memory_order_relaxed);
  uint64_t one = 1;
  [[maybe_unused]] auto rc = ::write(wake_fd_, &one, sizeof(one));
}

void Loop::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard lock(posted_mutex_);
    was_empty = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] auto rc = ::write(wake_fd_, &one, sizeof(one));
  }
}

}  // namespace turnpike::net
