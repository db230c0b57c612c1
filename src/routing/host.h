// Host names for routing (SPEC §2.1): the request's Host header and the routes' `hosts` entries
// reduced to one comparable form (lower case, no port, no brackets, no trailing dot).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace turnpike::routing {

// Longest host name kept (DNS names are at most 253 bytes); longer Host values match only routes
// without `hosts`.
inline constexpr size_t kMaxHostLength = 255;

// Writes the comparable form of a Host header value ("API.Example.com:8443" -> "api.example.com",
// "[::1]:80" -> "::1") into `buffer` and points `host` at it. Returns false, and leaves `host`
// empty, when it does not fit. No allocation: this is on the request path.
bool canonical_host(std::string_view raw, char (&buffer)[kMaxHostLength], std::string_view& host);

// One entry of a route's `hosts`.
struct HostEntry {
  enum class Kind { kAny, kExact, kWildcard };
  Kind kind = Kind::kAny;
  std::string name;  // kExact: the host; kWildcard: the suffix after "*." ("example.com")

  std::string to_string() const;  // as it would be written: "api.example.com", "*.example.com"
  friend bool operator==(const HostEntry&, const HostEntry&) = default;
  friend auto operator<=>(const HostEntry&, const HostEntry&) = default;
};

// Parses a `hosts` entry: "api.example.com", "*.example.com", or "*" (any host, the same as
// leaving `hosts` out). Returns "" or an error message.
std::string parse_host_entry(std::string_view text, HostEntry& out);

// Host precedence (SPEC §2.1 rule 1) as a number, lower wins: an exact host, then wildcards by
// longest suffix, then any host. kNoMatch when `entry` does not match the canonical `host`.
inline constexpr int kHostRankExact = 0;
inline constexpr int kHostRankAny = 1000;
inline constexpr int kHostRankNoMatch = 2000;
int host_rank(const HostEntry& entry, std::string_view host);

}  // namespace turnpike::routing
