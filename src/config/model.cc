#include "config/model.h"

namespace turnpike::config {

std::string HostPort::to_string() const {
  // A ':' in the host can only be an IPv6 literal, which needs brackets before the port.
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

bool Cidr::contains(const std::array<uint8_t, 16>& ip) const {
  int bits = prefix_bits;
  for (size_t i = 0; i < ip.size() && bits > 0; ++i, bits -= 8) {
    uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff00 >> bits);
    if ((ip[i] & mask) != (address[i] & mask)) return false;
  }
  return true;
}

}  // namespace turnpike::config
