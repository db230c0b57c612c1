// Reads and writes through a Transport (see transport.h).
#include "net/transport.h"

namespace turnpike::net {
namespace {

bool unusable(const Socket& socket, const IoState* state) {
  return socket.aborted() || !state || state->closed;
}

// Registers `waiter` for the readiness `want` names, and only that one: an attempt that now
// waits for the other readiness moves (a TLS read that must first send a record).
void wait_for(IoState& state, IoWaiter* waiter, Want want) {
  if (state.read_waiter == waiter) state.read_waiter = nullptr;
  if (state.write_waiter == waiter) state.write_waiter = nullptr;
  (want == Want::kRead ? state.read_waiter : state.write_waiter) = waiter;
}

}  // namespace

Transport& plain_transport() {
  static PlainTransport plain;
  return plain;
}

bool TransportReadAwaiter::await_ready() {
  if (unusable(socket_, socket_.state_)) return true;  // kAborted
  // Without bytes held above the socket, a drained socket means waiting for the next event.
  if (!transport_.pending() && !socket_.state_->readable) return false;
  return perform();
}

void TransportReadAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  handle = h;
  wait_for(*socket_.state_, this, want_);
}

bool TransportReadAwaiter::perform() {
  result_ = transport_.try_read(socket_, buffer_, length_, want_);
  if (result_.status != IoStatus::kWouldBlock) return true;
  if (handle) wait_for(*socket_.state_, this, want_);
  return false;
}

IoResult TransportReadAwaiter::await_resume() const noexcept {
  // Woken without a completed perform(): the socket was aborted or closed.
  return result_.status == IoStatus::kWouldBlock ? IoResult{IoStatus::kAborted} : result_;
}

bool TransportWriteAwaiter::perform() {
  if (unusable(socket_, socket_.state_)) {
    result_ = {IoStatus::kAborted, written_};
    return done_ = true;
  }
  while (count_ > 0) {
    IoResult r = transport_.try_write(socket_, iov_, count_, want_);
    if (r.status == IoStatus::kWouldBlock) {
      if (handle) wait_for(*socket_.state_, this, want_);
      return false;
    }
    if (!r.ok()) {
      result_ = {r.status, written_, r.error};
      return done_ = true;
    }
    written_ += r.bytes;
    skip_written(iov_, count_, r.bytes);
  }
  result_ = {IoStatus::kOk, written_};
  return done_ = true;
}

void TransportWriteAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  handle = h;
  wait_for(*socket_.state_, this, want_);
}

IoResult TransportWriteAwaiter::await_resume() const noexcept {
  if (!done_ || socket_.aborted()) return {IoStatus::kAborted, written_};
  return result_;
}

}  // namespace turnpike::net
