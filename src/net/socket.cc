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

Socket::Socket(Loop& loop, int fd) {
  state_ = loop.add(fd);
  if (!state_) ::close(fd);
}

IoResult Socket::try_read(char* buffer, std::size_t length) {
  if (aborted_) return {IoStatus::kAborted};
  ssize_t n = ::read(state_->fd, buffer, length);  // read(), not recv(): also for signalfd, inotify
  if (n > 0) {
    if (static_cast<std::size_t>(n) < length) state_->readable = false;
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
  if (socket.aborted_ || !socket.state_ || socket.state_->closed) return true;
  return write ? socket.state_->writable : socket.state_->readable;
}

void Socket::ReadyAwaiter::await_suspend(std::coroutine_handle<> h) noexcept {
  if (write) {
    socket.state_->write_waiter = h;
  } else {
    socket.state_->read_waiter = h;
  }
}

bool Socket::ReadyAwaiter::await_resume() const noexcept {
  return !socket.aborted_ && socket.state_ && !socket.state_->closed;
}

void Socket::abort() {
  if (!state_ || aborted_) return;
  aborted_ = true;
  Loop& loop = *state_->loop;
  if (auto h = std::exchange(state_->read_waiter, {})) loop.schedule(h);
  if (auto h = std::exchange(state_->write_waiter, {})) loop.schedule(h);
}

void Socket::close() {
  if (!state_) return;
  state_->loop->remove(state_);
  state_ = nullptr;
}

Task<IoResult> read_some(Socket& socket, char* buffer, std::size_t length) {
  for (;;) {
    if (socket.aborted()) co_return IoResult{IoStatus::kAborted};
    IoResult r = socket.try_read(buffer, length);
    if (r.status != IoStatus::kWouldBlock) co_return r;
    if (!co_await socket.readable()) co_return IoResult{IoStatus::kAborted};
  }
}

Task<IoResult> write_all(Socket& socket, iovec* iov, int count) {
  std::size_t total = 0;
  while (count > 0) {
    IoResult r = socket.try_write(iov, count);
    if (r.status == IoStatus::kWouldBlock) {
      if (!co_await socket.writable()) co_return IoResult{IoStatus::kAborted, total};
      continue;
    }
    if (!r.ok()) {
      r.bytes = total;
      co_return r;
    }
    total += r.bytes;
    std::size_t n = r.bytes;
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
  co_return IoResult{IoStatus::kOk, total};
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
    ::inet_ntop(AF_INET, &storage.v4.sin_addr, text, sizeof(text));
  } else if (family() == AF_INET6) {
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

std::string listen_on(const Address& address, int& fd_out) {
  auto fail = [&](const char* what, int fd) {
    std::string why = std::string(what) + " " + address.to_string() + ": " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return why;
  };
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail("cannot open a socket for", -1);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
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
