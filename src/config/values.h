// Parsers for the scalar values of the configuration (durations, sizes, addresses, networks,
// URLs). Each returns the value or a message saying what is wrong; none of them throws.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/model.h"

namespace turnpike::config {

// A value, or a human-readable error (without the YAML path; the Reader prefixes it).
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;

  static Parsed ok(T v) { return Parsed{std::move(v), {}}; }
  static Parsed fail(std::string message) { return Parsed{std::nullopt, std::move(message)}; }
  explicit operator bool() const { return value.has_value(); }
};

using IpAddress = std::array<uint8_t, 16>;  // IPv4 mapped into ::ffff:0:0/96

// "250ms", "5s", "1m", "1h" and compounds from the largest unit down ("1h30m", "1m30s").
// Whole numbers only. Zero is accepted here; callers that need a positive duration check it.
Parsed<Duration> parse_duration(std::string_view text);

// A whole number of bytes, optionally with a unit: B, KiB/MiB/GiB/TiB (powers of 1024) or
// KB/MB/GB/TB (powers of 1000). Overflow of 64 bits is an error.
Parsed<uint64_t> parse_size(std::string_view text);

enum class HostForm : uint8_t {
  // Where to listen: "IP:port", "[v6]:port", ":port" (all addresses, host ""). "localhost" is
  // taken as 127.0.0.1 so that the host is always an IP literal.
  kListener,
  // Where to connect: as kListener without ":port", plus DNS names ("users.internal:8080").
  kTarget,
};
// Port 1..65535. IPv6 hosts are stored without brackets, in canonical form ("::1").
Parsed<HostPort> parse_host_port(std::string_view text, HostForm form);

// An IPv4 ("10.0.0.1") or IPv6 ("::1") literal, without brackets.
Parsed<IpAddress> parse_ip(std::string_view text);
// True for an address of the ::ffff:0:0/96 block (an IPv4 address).
bool is_ipv4_mapped(const IpAddress& ip);
// Canonical text: "10.0.0.1" for a mapped IPv4 address, RFC 5952 form ("::1") for IPv6.
std::string ip_to_string(const IpAddress& ip);

// "10.0.0.0/8", "::1/128"; a bare address is /32 (IPv4) or /128 (IPv6). Host bits set below the
// prefix are accepted and cleared ("10.1.2.3/8" is 10.0.0.0/8), as most tools do.
Parsed<Cidr> parse_cidr(std::string_view text);

// 127.0.0.0/8, ::1 (also as ::ffff:127.x.x.x) or the name "localhost" (any case).
bool is_loopback(const HostPort& address);

// A DNS host name: labels of letters, digits, '-' and '_' (not at a label's ends for '-'),
// 1..63 bytes each, 253 in all, and a last label that is not all digits (so "10.0.0.256" is
// not mistaken for a name).
bool is_valid_host_name(std::string_view name);

// scheme://host[:port][/path], e.g. "http://users.internal:8080/v1". The scheme is returned
// lower-cased and left for the caller to judge; the port defaults to 80 for http and 443 for
// https and is required otherwise. No user info, query or fragment.
struct Url {
  std::string scheme;
  HostPort host_port;
  std::string path;  // "" or starting with '/'
  friend bool operator==(const Url&, const Url&) = default;
};
Parsed<Url> parse_url(std::string_view text);

}  // namespace turnpike::config
