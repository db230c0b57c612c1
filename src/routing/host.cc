// Host names for routing: canonical form, `hosts` entries, host precedence.
#include "routing/host.h"

#include <cstdint>
#include <cstring>

namespace turnpike::routing {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// Drops the port, IPv6 brackets and a trailing dot; case is left to the caller.
std::string_view strip_host(std::string_view raw) {
  if (!raw.empty() && raw.front() == '[') {
    const size_t close = raw.find(']');
    return close == std::string_view::npos ? raw.substr(1) : raw.substr(1, close - 1);
  }
  const size_t colon = raw.find(':');
  // More than one ':' without brackets is a bare IPv6 literal (not valid in Host, but not a port).
  if (colon != std::string_view::npos && raw.find(':', colon + 1) == std::string_view::npos) {
    raw = raw.substr(0, colon);
  }
  if (!raw.empty() && raw.back() == '.') raw.remove_suffix(1);
  return raw;
}

}  // namespace

bool canonical_host(std::string_view raw, char (&buffer)[kMaxHostLength], std::string_view& host) {
  host = {};
  std::string_view name = raw;
  // The common case: a name or IPv4 literal, maybe with a port.
  const size_t colon = raw.find(':');
  if (colon != std::string_view::npos &&
      (raw.front() == '[' || raw.find(':', colon + 1) != std::string_view::npos)) {
    name = strip_host(raw);  // IPv6, bracketed or not
  } else {
    name = raw.substr(0, colon);
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  }
  if (name.size() > kMaxHostLength) return false;
  // ASCII lower-casing eight bytes at a time (SWAR): a byte gets 0x20 when it is in 'A'..'Z'.
  size_t i = 0;
  for (; i + 8 <= name.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, name.data() + i, 8);
    constexpr uint64_t kOnes = 0x0101010101010101ull;
    const uint64_t low7 = word & (0x7F * kOnes);
    const uint64_t at_least_a = low7 + (0x80 - 'A') * kOnes;   // high bit: byte >= 'A'
    const uint64_t above_z = low7 + (0x80 - 'Z' - 1) * kOnes;  // high bit: byte > 'Z'
    const uint64_t upper = at_least_a & ~above_z & ~word & (0x80 * kOnes);
    word |= upper >> 2;
    std::memcpy(buffer + i, &word, 8);
  }
  for (; i < name.size(); ++i) buffer[i] = lower(name[i]);
  host = std::string_view(buffer, name.size());
  return true;
}

std::string HostEntry::to_string() const {
  switch (kind) {
    case Kind::kAny:
      return "*";
    case Kind::kExact:
      return name;
    case Kind::kWildcard:
      return "*." + name;
  }
  return name;
}

std::string parse_host_entry(std::string_view text, HostEntry& out) {
  out = HostEntry{};
  if (text == "*") return "";
  std::string_view rest = text;
  if (rest.starts_with("*.")) {
    out.kind = HostEntry::Kind::kWildcard;
    rest.remove_prefix(2);
  } else {
    out.kind = HostEntry::Kind::kExact;
  }
  if (rest.find('*') != std::string_view::npos) {
    return "`*` is allowed only as the whole first label, e.g. *.example.com";
  }
  for (const char c : strip_host(rest)) out.name += lower(c);
  if (out.name.empty()) return "empty host name";
  if (out.name.size() > kMaxHostLength) return "host name longer than 255 bytes";
  if (out.name.front() == '.' || out.name.find("..") != std::string::npos) {
    return "empty label in host name";
  }
  return "";
}

int host_rank(const HostEntry& entry, std::string_view host) {
  switch (entry.kind) {
    case HostEntry::Kind::kAny:
      return kHostRankAny;
    case HostEntry::Kind::kExact:
      return host == entry.name ? kHostRankExact : kHostRankNoMatch;
    case HostEntry::Kind::kWildcard: {
      // One or more labels before the suffix: "a.example.com", never "example.com" itself.
      const std::string_view suffix = entry.name;
      if (host.size() < suffix.size() + 2 || !host.ends_with(suffix) ||
          host[host.size() - suffix.size() - 1] != '.') {
        return kHostRankNoMatch;
      }
      return 1 + static_cast<int>(kMaxHostLength - suffix.size());  // longer suffix, lower rank
    }
  }
  return kHostRankNoMatch;
}

}  // namespace turnpike::routing
