// Socket operations (see socket.h).
#include "net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace turnpike::net {

Socket::Socket(Loop& loop, int fd, bool socket) {
  state_ = loop.add(fd, socket);
  if (!state_) ::close(fd);
}

IoResult Socket::try_read(char* buffer, std::size_t length) {
  if (aborted_) return {IoStatus::kAborted};
  ssize_t n = state_->socket ? ::recv(state_->fd, buffer, length, 0)
                             : ::read(state_->fd, buffer, length);  // signalfd, inotify
  if (n > 0) {
    // A short read drained the socket, unless a hang-up came with the same edge: then the EOF
    // (or error) is still to be read and no further event will announce it.
    if (static_cast<std::size_t>(n) < length && !state_->hangup) state_->readable = false;
    return {IoStatus::kOk, static_cast<std::size_t>(n)};
  }
  if (n == 0) return {IoStatus::kEof};
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    state_->readable = false;
    return {IoStatus::kWouldBlock};
  }
  if (errno == EINTR) return {IoStatus::kWouldBlock};
  return {IoStatus::kError, 0, errno};
}

IoResult Socket::try_write(const iovec* iov, int count) {
  if (aborted_) return {IoStatus::kAborted};
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(count);
  ssize_t n = ::sendmsg(state_->fd, &msg, MSG_NOSIGNAL);
  if (n >= 0) return {IoStatus::kOk, static_cast<std::size_t>(n)};
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    state_->writable = false;
    return {IoStatus::kWouldBlock};
  }
  if (errno == EINTR) return {IoStatus::kWouldBlock};
  return {IoStatus::kError, 0, errno};
}

bool Socket::ReadyAwaiter::await_ready() const noexcept {
  if (socket_.aborted_ || !socket_.state_ || socket_.state_->closed) return true;
  return write_ ? socket_.state_->writable : socket_.state_->readable;
}

void Socket::ReadyAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  handle = h;
  if (write_) {
    socket_.state_->write_waiter = this;
  } else {
    socket_.state_->read_waiter = this;
  }
}

bool Socket::ReadyAwaiter::await_resume() const noexcept {
  return !socket_.aborted_ && socket_.state_ && !socket_.state_->closed;
}

bool ReadAwaiter::await_ready() {
  if (socket_.aborted_ || !socket_.state_ || socket_.state_->closed) return true;  // kAborted
  if (!socket_.state_->readable) return false;
  return perform();
}

void ReadAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  handle = h;
  socket_.state_->read_waiter = this;
}

bool ReadAwaiter::perform() {
  result_ = socket_.try_read(buffer_, length_);
  return result_.status != IoStatus::kWouldBlock;
}

IoResult ReadAwaiter::await_resume() const noexcept {
  // Woken without a completed perform(): the socket was aborted or closed.
  return result_.status == IoStatus::kWouldBlock ? IoResult{IoStatus::kAborted} : result_;
}

bool WriteAwaiter::perform() {
  if (socket_.aborted_ || !socket_.state_ || socket_.state_->closed) {
    result_ = {IoStatus::kAborted, written_};
    return done_ = true;
  }
  while (count_ > 0) {
    IoResult r = socket_.try_write(iov_, count_);
    if (r.status == IoStatus::kWouldBlock) return false;
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

void WriteAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  handle = h;
  socket_.state_->write_waiter = this;
}

IoResult WriteAwaiter::await_resume() const noexcept {
  if (!done_ || socket_.aborted_) return {IoStatus::kAborted, written_};
  return result_;
}

void Socket::abort() {
  if (!state_ || aborted_) return;
  aborted_ = true;
  Loop& loop = *state_->loop;
  if (IoWaiter* w = std::exchange(state_->read_waiter, nullptr)) loop.schedule(w->handle);
  if (IoWaiter* w = std::exchange(state_->write_waiter, nullptr)) loop.schedule(w->handle);
}

void Socket::close() {
  if (!state_) return;
  state_->loop->remove(state_);
  state_ = nullptr;
}

Task<IoResult> connect(Loop& loop, const sockaddr* address, socklen_t length, Socket& out) {
  int fd = ::socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) co_return IoResult{IoStatus::kError, 0, errno};
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  int rc = ::connect(fd, address, length);
  if (rc != 0 && errno != EINPROGRESS) {
    int saved = errno;
    ::close(fd);
    co_return IoResult{IoStatus::kError, 0, saved};
  }
  out = Socket(loop, fd);
  if (!out.valid()) co_return IoResult{IoStatus::kError, 0, errno};
  if (rc != 0) {
    if (!co_await out.writable()) co_return IoResult{IoStatus::kAborted};
    int error = 0;
    socklen_t len = sizeof(error);
    ::getsockopt(out.fd(), SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) co_return IoResult{IoStatus::kError, 0, error};
  }
  co_return IoResult{IoStatus::kOk};
}

std::string Address::ip_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    // Once per request (X-Forwarded-For): glibc's inet_ntop goes through sprintf.
    const auto* b = reinterpret_cast<const uint8_t*>(&storage.v4.sin_addr);
    char* p = text;
    for (int i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      if (b[i] >= 100) *p++ = static_cast<char>('0' + b[i] / 100);
      if (b[i] >= 10) *p++ = static_cast<char>('0' + b[i] / 10 % 10);
      *p++ = static_cast<char>('0' + b[i] % 10);
    }
    return std::string(text, p - text);
  }
  if (family() == AF_INET6) {
    ::inet_ntop(AF_INET6, &storage.v6.sin6_addr, text, sizeof(text));
  }
  return text;
}

std::string Address::to_string() const {
  if (family() == AF_INET) {
    return ip_string() + ":" + std::to_string(ntohs(storage.v4.sin_port));
  }
  return "[" + ip_string() + "]:" + std::to_string(ntohs(storage.v6.sin6_port));
}

void Address::ip_bytes(uint8_t out[16]) const {
  std::memset(out, 0, 16);
  if (family() == AF_INET) {
    out[10] = out[11] = 0xff;
    std::memcpy(out + 12, &storage.v4.sin_addr, 4);
  } else if (family() == AF_INET6) {
    std::memcpy(out, &storage.v6.sin6_addr, 16);
  }
}

bool make_address(const std::string& host, uint16_t port, Address& out) {
  out = Address();
  std::string h = host;
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (h.empty()) h = "0.0.0.0";
  if (::inet_pton(AF_INET, h.c_str(), &out.storage.v4.sin_addr) == 1) {
    out.storage.v4.sin_family = AF_INET;
    out.storage.v4.sin_port = htons(port);
    out.length = sizeof(sockaddr_in);
    return true;
  }
  if (::inet_pton(AF_INET6, h.c_str(), &out.storage.v6.sin6_addr) == 1) {
    out.storage.v6.sin6_family = AF_INET6;
    out.storage.v6.sin6_port = htons(port);
    out.length = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

std::string resolve(const std::string& host, uint16_t port, Address& out) {
  if (make_address(host, port, out)) return {};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &result);
  if (rc != 0 || !result) return "cannot resolve \"" + host + "\": " + ::gai_strerror(rc);
  // Prefer IPv4 when a name has both: most local services listen on it.
  const addrinfo* chosen = result;
  for (const addrinfo* ai = result; ai; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      chosen = ai;
      break;
    }
  }
  out = Address();
  if (chosen->ai_addrlen > sizeof(out.storage)) {
    ::freeaddrinfo(result);
    return "unsupported address family for \"" + host + "\"";
  }
  std::memcpy(&out.storage, chosen->ai_addr, chosen->ai_addrlen);
  out.length = chosen->ai_addrlen;
  if (chosen->ai_family == AF_INET) {
    out.storage.v4.sin_port = htons(port);
  } else {
    out.storage.v6.sin6_port = htons(port);
  }
  ::freeaddrinfo(result);
  return {};
}

std::string listen_on(const Address& address, int& fd_out, bool reuse_port) {
  auto fail = [&](const char* what, int fd) {
    std::string why = std::string(what) + " " + address.to_string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return why;
  };
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("cannot open a socket for", -1);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    return fail("cannot set SO_REUSEPORT on", fd);
  }
  if (address.family() == AF_INET6) {
    int zero = 0;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  if (::bind(fd, address.get(), address.length) != 0) return fail("cannot bind", fd);
  if (::listen(fd, 4096) != 0) return fail("cannot listen on", fd);
  fd_out = fd;
  return {};
}

}  // namespace turnpike::net
