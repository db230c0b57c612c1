#include "config/values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

namespace turnpike::config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

// Reads the decimal digits at text[*i...] into *out; false when there are none or they overflow.
bool read_digits(std::string_view text, size_t* i, uint64_t* out, bool* overflow) {
  size_t start = *i;
  uint64_t value = 0;
  *overflow = false;
  while (*i < text.size() && is_digit(text[*i])) {
    uint64_t digit = static_cast<uint64_t>(text[*i] - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) *overflow = true;
    value = value * 10 + digit;
    ++*i;
  }
  *out = value;
  return *i > start && !*overflow;
}

struct DurationUnit {
  std::string_view name;
  int64_t millis;
};
// Largest first: a compound duration must use them in this order.
constexpr DurationUnit kDurationUnits[] = {{"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};

struct SizeUnit {
  std::string_view name;
  uint64_t bytes;
};
constexpr SizeUnit kSizeUnits[] = {
    {"", 1},
    {"B", 1},
    {"KiB", 1ULL << 10},
    {"MiB", 1ULL << 20},
    {"GiB", 1ULL << 30},
    {"TiB", 1ULL << 40},
    {"KB", 1000ULL},
    {"MB", 1000ULL * 1000},
    {"GB", 1000ULL * 1000 * 1000},
    {"TB", 1000ULL * 1000 * 1000 * 1000},
};

// inet_pton needs a NUL-terminated string.
bool parse_ip_family(std::string_view text, IpAddress* out, bool* is_v4) {
  if (text.empty() || text.size() > 45) return false;
  char buf[64];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) == 1) {
    *out = IpAddress{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, v4[0], v4[1], v4[2], v4[3]};
    *is_v4 = true;
    return true;
  }
  if (inet_pton(AF_INET6, buf, out->data()) == 1) {
    *is_v4 = false;
    return true;
  }
  return false;
}

std::string canonical_ipv6(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, ip.data(), buf, sizeof(buf));
  return buf;
}

// "1..65535" with nothing else; anything else is nullopt.
std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port < 1 || port > 65535) return std::nullopt;
  return static_cast<uint16_t>(port);
}

// Parses host and (optional when default_port != 0) port; errors are bare reasons.
Parsed<HostPort> parse_authority(std::string_view text, HostForm form, uint16_t default_port) {
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  bool bracketed = false;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Parsed<HostPort>::fail("missing ']'");
    host = text.substr(1, close - 1);
    bracketed = true;
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return Parsed<HostPort>::fail("expected ':' after ']'");
      port_text = rest.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      return Parsed<HostPort>::fail("an IPv6 address needs brackets, e.g. [::1]:8080");
    }
    if (colon == std::string_view::npos) {
      host = text;
    } else {
      host = text.substr(0, colon);
      port_text = text.substr(colon + 1);
      has_port = true;
    }
  }

  HostPort result;
  if (has_port) {
    auto port = parse_port(port_text);
    if (!port) return Parsed<HostPort>::fail("invalid port " + quoted(port_text) + " (1-65535)");
    result.port = *port;
  } else if (default_port != 0) {
    result.port = default_port;
  } else {
    return Parsed<HostPort>::fail("missing port (e.g. 127.0.0.1:8080)");
  }

  IpAddress ip;
  bool is_v4 = false;
  if (bracketed) {
    if (!parse_ip_family(host, &ip, &is_v4) || is_v4) {
      return Parsed<HostPort>::fail("invalid IPv6 address " + quoted(host));
    }
    result.host = canonical_ipv6(ip);
  } else if (host.empty()) {
    if (form == HostForm::kTarget) return Parsed<HostPort>::fail("missing host");
    // Listener: "" means every address.
  } else if (parse_ip_family(host, &ip, &is_v4)) {
    result.host = std::string(host);
  } else if (form == HostForm::kListener) {
    std::string lower(host);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (lower != "localhost") {
      return Parsed<HostPort>::fail("a listen address must be an IP address, not " + quoted(host));
    }
    result.host = "127.0.0.1";
  } else if (is_valid_host_name(host)) {
    result.host = std::string(host);
  } else {
    return Parsed<HostPort>::fail("invalid host " + quoted(host));
  }
  return Parsed<HostPort>::ok(std::move(result));
}

}  // namespace

Parsed<Duration> parse_duration(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Parsed<Duration>::fail("invalid duration " + quoted(text) + ": " + why);
  };
  if (text.empty()) return fail("empty (use e.g. 250ms, 5s, 1m, 1h)");
  if (!is_digit(text.front())) {
    if (text.front() == '-') return fail("must not be negative");
    return fail("expected a number and a unit (e.g. 250ms, 5s, 1m30s)");
  }
  int64_t total = 0;
  size_t next_unit = 0;  // index into kDurationUnits of the largest unit still allowed
  size_t i = 0;
  while (i < text.size()) {
    uint64_t number = 0;
    bool overflow = false;
    if (!read_digits(text, &i, &number, &overflow)) {
      return fail(overflow ? "too large" : "expected a number after the unit");
    }
    if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
      return fail("fractions are not supported (e.g. write 1500ms for 1.5s)");
    }
    size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i])) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) return fail("missing unit (use ms, s, m, h)");
    size_t u = 0;
    while (u < std::size(kDurationUnits) && kDurationUnits[u].name != unit) ++u;
    if (u == std::size(kDurationUnits)) {
      return fail("unknown unit " + quoted(unit) + " (use ms, s, m, h)");
    }
    if (u < next_unit) return fail("units must go from the largest to the smallest, once each");
    next_unit = u + 1;
    int64_t millis = kDurationUnits[u].millis;
    if (number > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / millis) ||
        total > std::numeric_limits<int64_t>::max() - static_cast<int64_t>(number) * millis) {
      return fail("too large");
    }
    total += static_cast<int64_t>(number) * millis;
  }
  return Parsed<Duration>::ok(Duration(total));
}

Parsed<uint64_t> parse_size(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Parsed<uint64_t>::fail("invalid size " + quoted(text) + ": " + why);
  };
  if (text.empty()) return fail("empty (use e.g. 65536, 64KiB, 10MiB)");
  if (!is_digit(text.front())) {
    if (text.front() == '-') return fail("must not be negative");
    return fail("expected a number of bytes, optionally with a unit (e.g. 64KiB)");
  }
  size_t i = 0;
  uint64_t number = 0;
  bool overflow = false;
  if (!read_digits(text, &i, &number, &overflow)) return fail("too large");
  if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
    return fail("fractions are not supported (e.g. write 1536KiB for 1.5MiB)");
  }
  std::string_view unit = text.substr(i);
  for (const SizeUnit& u : kSizeUnits) {
    if (u.name != unit) continue;
    if (number > std::numeric_limits<uint64_t>::max() / u.bytes) return fail("too large");
    return Parsed<uint64_t>::ok(number * u.bytes);
  }
  return fail("unknown unit " + quoted(unit) +
              " (use KiB, MiB, GiB, KB, MB, GB, or a plain number of bytes)");
}

Parsed<HostPort> parse_host_port(std::string_view text, HostForm form) {
  if (text.find("://") != std::string_view::npos) {
    return Parsed<HostPort>::fail("invalid address " + quoted(text) +
                                  ": give host:port, without a scheme");
  }
  Parsed<HostPort> parsed = parse_authority(text, form, /*default_port=*/0);
  if (!parsed) parsed.error = "invalid address " + quoted(text) + ": " + parsed.error;
  return parsed;
}

Parsed<IpAddress> parse_ip(std::string_view text) {
  IpAddress ip;
  bool is_v4 = false;
  if (!parse_ip_family(text, &ip, &is_v4)) {
    return Parsed<IpAddress>::fail("invalid IP address " + quoted(text));
  }
  return Parsed<IpAddress>::ok(ip);
}

bool is_ipv4_mapped(const IpAddress& ip) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(ip.data(), kPrefix, sizeof(kPrefix)) == 0;
}

std::string ip_to_string(const IpAddress& ip) {
  char buf[INET6_ADDRSTRLEN];
  if (is_ipv4_mapped(ip)) {
    inet_ntop(AF_INET, ip.data() + 12, buf, sizeof(buf));
    return buf;
  }
  return canonical_ipv6(ip);
}

Parsed<Cidr> parse_cidr(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Parsed<Cidr>::fail("invalid CIDR " + quoted(text) + ": " + why);
  };
  size_t slash = text.find('/');
  std::string_view ip_text = text.substr(0, slash);
  Cidr cidr;
  bool is_v4 = false;
  if (!parse_ip_family(ip_text, &cidr.address, &is_v4)) {
    return fail("invalid IP address " + quoted(ip_text));
  }
  int max_bits = is_v4 ? 32 : 128;
  int bits = max_bits;
  if (slash != std::string_view::npos) {
    std::string_view prefix = text.substr(slash + 1);
    bool digits = !prefix.empty() && prefix.size() <= 3 &&
                  std::all_of(prefix.begin(), prefix.end(), is_digit);
    bits = digits ? std::stoi(std::string(prefix)) : -1;
    if (bits < 0 || bits > max_bits) {
      return fail("prefix length must be 0.." + std::to_string(max_bits));
    }
  }
  cidr.prefix_bits = is_v4 ? 96 + bits : bits;
  for (int i = 0; i < 16; ++i) {
    int keep = std::clamp(cidr.prefix_bits - i * 8, 0, 8);
    cidr.address[i] &= static_cast<uint8_t>(0xff00 >> keep);
  }
  return Parsed<Cidr>::ok(cidr);
}

bool is_loopback(const HostPort& address) {
  std::string lower = address.host;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "localhost") return true;
  auto ip = parse_ip(address.host);
  if (!ip) return false;
  static const Cidr kLoopbackV4 = *parse_cidr("127.0.0.0/8").value;
  static const Cidr kLoopbackV6 = *parse_cidr("::1/128").value;
  return kLoopbackV4.contains(*ip.value) || kLoopbackV6.contains(*ip.value);
}

bool is_valid_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  std::string_view last;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
    }
    last = label;
    start = dot + 1;
  }
  return !std::all_of(last.begin(), last.end(), is_digit);
}

Parsed<Url> parse_url(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Parsed<Url>::fail("invalid URL " + quoted(text) + ": " + why);
  };
  size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return fail("expected scheme://host:port");
  Url url;
  url.scheme = std::string(text.substr(0, sep));
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return fail("a query or fragment is not allowed");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) return fail("user info is not allowed");
  if (slash != std::string_view::npos) url.path = std::string(rest.substr(slash));
  uint16_t default_port = url.scheme == "http" ? 80 : url.scheme == "https" ? 443 : 0;
  Parsed<HostPort> host_port = parse_authority(authority, HostForm::kTarget, default_port);
  if (!host_port) return fail(host_port.error);
  url.host_port = std::move(*host_port.value);
  return Parsed<Url>::ok(std::move(url));
}

}  // namespace turnpike::config
