// The byte stream under a connection codec. Plain TCP is the socket itself; TLS (later) reads and
// writes records through the socket and breaks two assumptions a codec could otherwise make:
//   - a short read does not mean drained: decrypted bytes may wait above the socket, which no
//     readiness event will announce (pending());
//   - a read can need the socket writable first (a handshake or key-update record to send), and
//     a write readable (Want).
// Codecs therefore read and write through read_some(Transport&, ...) / write_all(Transport&, ...),
// never the socket's own calls.
#pragma once

#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "net/socket.h"

namespace turnpike::net {

// The readiness an operation that could not proceed waits for.
enum class Want : uint8_t { kRead, kWrite };

class Transport {
 public:
  virtual ~Transport() = default;
  // One attempt on `socket`. On kWouldBlock, `want` says which readiness to wait for before the
  // next attempt, and only after the socket's own attempt of that kind said EAGAIN (which clears
  // the socket's readiness flag): readiness is edge-triggered, so waiting for a flag already set
  // would wait for an edge that never comes.
  virtual IoResult try_read(Socket& socket, char* buffer, std::size_t length, Want& want) = 0;
  virtual IoResult try_write(Socket& socket, const iovec* iov, int count, Want& want) = 0;
  // Bytes received and not yet returned: the next read must try at once, not wait for an event.
  virtual bool pending() const { return false; }
};

// Plain TCP: the socket's own reads and writes. Stateless, so one instance serves every
// connection (a connection holds a pointer to it, not a copy).
class PlainTransport final : public Transport {
 public:
  IoResult try_read(Socket& socket, char* buffer, std::size_t length, Want& want) override {
    want = Want::kRead;
    return socket.try_read(buffer, length);
  }
  IoResult try_write(Socket& socket, const iovec* iov, int count, Want& want) override {
    want = Want::kWrite;
    return socket.try_write(iov, count);
  }
};
Transport& plain_transport();

// co_await read_some(transport, socket, buffer, length): at least one byte, or EOF / error /
// abort, waiting for whichever readiness the transport asks for.
class TransportReadAwaiter final : public IoWaiter {
 public:
  TransportReadAwaiter(Transport& transport, Socket& socket, char* buffer, std::size_t length)
      : transport_(transport), socket_(socket), buffer_(buffer), length_(length) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h) noexcept;
  IoResult await_resume() const noexcept;
  bool perform() override;

 private:
  Transport& transport_;
  Socket& socket_;
  char* buffer_;
  std::size_t length_;
  Want want_ = Want::kRead;
  IoResult result_{IoStatus::kAborted};
};
inline TransportReadAwaiter read_some(Transport& transport, Socket& socket, char* buffer,
                                      std::size_t length) {
  return TransportReadAwaiter(transport, socket, buffer, length);
}

// co_await write_all(transport, socket, iov, count): every byte, or the error; `iov` is advanced
// in place on partial writes.
class TransportWriteAwaiter final : public IoWaiter {
 public:
  TransportWriteAwaiter(Transport& transport, Socket& socket, iovec* iov, int count)
      : transport_(transport), socket_(socket), iov_(iov), count_(count) {}
  bool await_ready() { return perform(); }
  void await_suspend(std::coroutine_handle<> h) noexcept;
  IoResult await_resume() const noexcept;
  bool perform() override;

 private:
  Transport& transport_;
  Socket& socket_;
  iovec* iov_;
  int count_;
  Want want_ = Want::kWrite;
  std::size_t written_ = 0;
  IoResult result_{IoStatus::kAborted};
  bool done_ = false;
};
inline TransportWriteAwaiter write_all(Transport& transport, Socket& socket, iovec* iov,
                                       int count) {
  return TransportWriteAwaiter(transport, socket, iov, count);
}

}  // namespace turnpike::net
