// A non-blocking TCP socket on a Loop, and the awaitable operations the data plane uses on it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "net/loop.h"
#include "net/task.h"

namespace turnpike::net {

enum class IoStatus : uint8_t {
  kOk,
  kWouldBlock,  // try_* only: wait for readiness and try again
  kEof,         // the peer closed its side
  kError,       // see IoResult::error (errno)
  kAborted,     // abort() was called: a deadline expired or the exchange was cancelled
};

struct IoResult {
  IoStatus status = IoStatus::kOk;
  std::size_t bytes = 0;
  int error = 0;
  bool ok() const { return status == IoStatus::kOk; }
};

class Socket {
 public:
  Socket() = default;
  // Takes ownership of a non-blocking descriptor and registers it; invalid() on failure.
  // `socket`: false for a descriptor that is not a socket (signalfd, inotify): read() then.
  Socket(Loop& loop, int fd, bool socket = true);
  Socket(Socket&& other) noexcept : state_(std::exchange(other.state_, nullptr)) {}
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::exchange(other.state_, nullptr);
    }
    return *this;
  }
  ~Socket() { close(); }

  bool valid() const { return state_ != nullptr; }
  int fd() const { return state_ ? state_->fd : -1; }
  Loop& loop() const { return *state_->loop; }
  // A hang-up (FIN, RST or error) has been seen.
  bool hangup() const { return state_->hangup; }
  bool aborted() const { return aborted_; }

  // One recv / one sendmsg. A short read marks the socket drained, so the next read waits for
  // an event instead of making a syscall that would say EAGAIN.
  IoResult try_read(char* buffer, std::size_t length);
  IoResult try_write(const iovec* iov, int count);

  // co_await readable() / writable(): readiness only (an idle connection holds no buffer).
  // Resumes with false when the socket was aborted or closed.
  class ReadyAwaiter final : public IoWaiter {
   public:
    ReadyAwaiter(Socket& socket, bool write) : socket_(socket), write_(write) {}
    bool await_ready() const noexcept;
    void await_suspend(std::coroutine_handle<> h) noexcept;
    bool await_resume() const noexcept;
    bool perform() override { return true; }

   private:
    Socket& socket_;
    bool write_;
  };
  ReadyAwaiter readable() { return ReadyAwaiter(*this, false); }
  ReadyAwaiter writable() { return ReadyAwaiter(*this, true); }

  // Ends every current and future wait on this socket with kAborted. Safe to call from deadline
  // callbacks and readiness listeners: waiters are resumed from the loop's top level.
  void abort();
  // For reads made outside try_read (accept4, a TLS library's own): EAGAIN means wait for the
  // next edge.
  void clear_readable() { state_->readable = false; }
  // For writes made outside try_write (a TLS library's own): EAGAIN means wait for the next edge.
  void clear_writable() { state_->writable = false; }
  // Lets operations run again after abort(), e.g. to answer 504 after a route timeout.
  void clear_abort() { aborted_ = false; }
  // Deregisters and closes.
  void close();
  void set_listener(ReadinessListener* listener) { state_->listener = listener; }

 private:
  friend class ReadAwaiter;
  friend class WriteAwaiter;
  friend class TransportReadAwaiter;
  friend class TransportWriteAwaiter;
  IoState* state_ = nullptr;
  bool aborted_ = false;
};

// Advances `iov` / `count` past `n` bytes that a write took (a partial write ends mid-iovec).
inline void skip_written(iovec*& iov, int& count, std::size_t n) {
  while (count > 0 && n >= iov->iov_len) {
    n -= iov->iov_len;
    ++iov;
    --count;
  }
  if (count > 0) {
    iov->iov_base = static_cast<char*>(iov->iov_base) + n;
    iov->iov_len -= n;
  }
}

// co_await read_some(socket, buffer, length): at least one byte, or EOF / error / abort. When the
// socket is known readable the read happens at once, with no suspension and no allocation.
class ReadAwaiter final : public IoWaiter {
 public:
  ReadAwaiter(Socket& socket, char* buffer, std::size_t length)
      : socket_(socket), buffer_(buffer), length_(length) {}
  bool await_ready();
  void await_suspend(std::coroutine_handle<> h) noexcept;
  IoResult await_resume() const noexcept;
  bool perform() override;

 private:
  Socket& socket_;
  char* buffer_;
  std::size_t length_;
  IoResult result_{IoStatus::kAborted};
};
inline ReadAwaiter read_some(Socket& socket, char* buffer, std::size_t length) {
  return ReadAwaiter(socket, buffer, length);
}

// co_await write_all(socket, iov, count): every byte of iov[0..count), or the error; the array
// is advanced in place on partial writes. A write the kernel takes whole never suspends.
class WriteAwaiter final : public IoWaiter {
 public:
  WriteAwaiter(Socket& socket, iovec* iov, int count) : socket_(socket), iov_(iov), count_(count) {}
  bool await_ready() { return perform(); }
  void await_suspend(std::coroutine_handle<> h) noexcept;
  IoResult await_resume() const noexcept;
  bool perform() override;

 private:
  Socket& socket_;
  iovec* iov_;
  int count_;
  std::size_t written_ = 0;
  IoResult result_{IoStatus::kAborted};
  bool done_ = false;
};
inline WriteAwaiter write_all(Socket& socket, iovec* iov, int count) {
  return WriteAwaiter(socket, iov, count);
}
// Opens a TCP connection; `out` is valid on success. Bounded by the caller's deadline, which
// aborts `out` through the returned socket (see connect_abortable in the proxy).
Task<IoResult> connect(Loop& loop, const sockaddr* address, socklen_t length, Socket& out);

// Address helpers: "IP:port" / "[v6]:port" text <-> sockaddr.
struct Address {
  // IPv4 or IPv6 only: 28 bytes rather than sockaddr_storage's 128 (one per connection).
  union Storage {
    sockaddr any;
    sockaddr_in v4;
    sockaddr_in6 v6;
  } storage{};
  socklen_t length = 0;
  const sockaddr* get() const { return &storage.any; }
  sockaddr* get() { return &storage.any; }
  int family() const { return storage.any.sa_family; }
  std::string to_string() const;        // "127.0.0.1:80"
  std::string ip_string() const;        // "127.0.0.1"
  // 16 bytes, IPv4 mapped into ::ffff:0:0/96 (the form config::Cidr compares with).
  void ip_bytes(uint8_t out[16]) const;
};
// Parses an IP literal (host may be "" for any address); false if not an IP literal.
bool make_address(const std::string& host, uint16_t port, Address& out);
// Resolves a name or IP literal (blocking: control thread only). Empty string on success,
// otherwise the reason.
std::string resolve(const std::string& host, uint16_t port, Address& out);

// A listening socket. With `reuse_port` (SO_REUSEPORT): one per worker per listener, so the
// kernel spreads connections over workers without a shared accept lock; the address should be
// claimed first (net/address_claim.h). Empty string on success.
std::string listen_on(const Address& address, int& fd_out, bool reuse_port = true);

}  // namespace turnpike::net
