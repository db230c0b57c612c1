// Address claims (see address_claim.h).
#include "net/address_claim.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace turnpike::net {
namespace {

// The abstract name ("\0turnpike/listen/IP:port"): no file to clean up, gone with the process,
// one per network namespace, like the ports it stands for.
socklen_t claim_name(const Address& address, sockaddr_un& out) {
  std::string name = "turnpike/listen/" + address.to_string();
  out = sockaddr_un{};
  out.sun_family = AF_UNIX;
  std::size_t n = std::min(name.size(), sizeof(out.sun_path) - 1);
  std::memcpy(out.sun_path + 1, name.data(), n);
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
}

// The pid of the process holding the claim (it listens on the name), or 0 when it cannot tell.
pid_t holder_pid(const sockaddr_un& name, socklen_t length) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  pid_t pid = 0;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&name), length) == 0) {
    ucred cred{};
    socklen_t size = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0) pid = cred.pid;
  }
  ::close(fd);
  return pid;
}

// A plain bind (SO_REUSEADDR for TIME_WAIT leftovers, no SO_REUSEPORT) of the address: it
// collides with any socket listening there, whether or not that one set SO_REUSEPORT.
int probe_bind(const Address& address) {
  int fd = ::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (address.family() == AF_INET6) {
    int zero = 0;  // as the listener will be bound: dual-stack
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  int error = ::bind(fd, address.get(), address.length) == 0 ? 0 : errno;
  ::close(fd);
  return error;
}

}  // namespace

AddressClaim& AddressClaim::operator=(AddressClaim&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

void AddressClaim::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string AddressClaim::claim(const Address& address) {
  release();
  std::string where = "cannot listen on " + address.to_string() + ": ";
  sockaddr_un name;
  socklen_t length = claim_name(address, name);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return where + "cannot open a claim socket: " + std::strerror(errno);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&name), length) != 0) {
    int error = errno;
    ::close(fd);
    if (error != EADDRINUSE) return where + "cannot claim it: " + std::strerror(error);
    pid_t pid = holder_pid(name, length);
    return where + "in use by another turnpike process" +
           (pid > 0 ? " (pid " + std::to_string(pid) + ")" : std::string()) +
           "; an address has one owner (stop that process first)";
  }
  // Listening (never accepting) lets a refused process ask the kernel who holds the claim.
  ::listen(fd, 1);
  if (int error = probe_bind(address); error != 0) {
    ::close(fd);
    if (error == EADDRINUSE)
      return where + "Address already in use (another program listens on it)";
    return where + std::strerror(error);
  }
  fd_ = fd;
  return {};
}

}  // namespace turnpike::net
