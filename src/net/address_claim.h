// One owner per listening address. Workers of one process share a listener through
// SO_REUSEPORT, and the kernel would just as readily let a second gateway process join the same
// group (same user, same option) and take half of the connections with another configuration.
// A claim refuses that: see docs/architecture.md, "One owner per address".
#pragma once

#include <string>

#include "net/socket.h"

namespace turnpike::net {

class AddressClaim {
 public:
  AddressClaim() = default;
  AddressClaim(AddressClaim&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  AddressClaim& operator=(AddressClaim&& other) noexcept;
  ~AddressClaim() { release(); }

  // Claims `address` for this process, before its listening sockets are bound. Empty string on
  // success; otherwise why not, naming the address: another turnpike process holds it (an
  // abstract unix socket named after the address, which the kernel frees when the process
  // ends), or some other socket does (a plain bind, without SO_REUSEPORT, collides with it).
  std::string claim(const Address& address);
  void release();
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

}  // namespace turnpike::net
