// Header classification and case-insensitive helpers (see headers.h).
#include "http/headers.h"

#include <array>
#include <cstdint>

namespace turnpike::http {
namespace {

constexpr unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

struct Known {
  std::string_view name;  // lower-case
  HeaderId id;
};

constexpr Known kKnown[] = {
    {"host", HeaderId::kHost},
    {"content-length", HeaderId::kContentLength},
    {"transfer-encoding", HeaderId::kTransferEncoding},
    {"connection", HeaderId::kConnection},
    {"keep-alive", HeaderId::kKeepAlive},
    {"proxy-connection", HeaderId::kProxyConnection},
    {"te", HeaderId::kTe},
    {"trailer", HeaderId::kTrailer},
    {"upgrade", HeaderId::kUpgrade},
    {"expect", HeaderId::kExpect},
    {"proxy-authorization", HeaderId::kProxyAuthorization},
    {"proxy-authenticate", HeaderId::kProxyAuthenticate},
    {"x-request-id", HeaderId::kXRequestId},
    {"x-forwarded-for", HeaderId::kXForwardedFor},
    {"x-forwarded-proto", HeaderId::kXForwardedProto},
    {"x-forwarded-host", HeaderId::kXForwardedHost},
    {"traceparent", HeaderId::kTraceparent},
    {"tracestate", HeaderId::kTracestate},
    {"date", HeaderId::kDate},
    {"server", HeaderId::kServer},
    {"user-agent", HeaderId::kUserAgent},
};

// Every field of every head is classified: a name is compared only with the known names of its
// length whose first and last letters match (at most one, for these names).
struct Index {
  std::array<const Known*, 32 * 32> slots{};  // (length, first letter) -> candidates chain head
  constexpr static std::size_t key(std::size_t length, unsigned char first) {
    return (length & 31) * 32 + (first & 31);
  }
  constexpr Index() {
    for (const Known& k : kKnown) slots[key(k.name.size(), k.name[0])] = &k;
  }
};
constexpr Index kIndex;

}  // namespace

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

HeaderId classify_header(std::string_view name) {
  if (name.empty() || name.size() > 31) return HeaderId::kOther;
  const Known* k = kIndex.slots[Index::key(name.size(), lower(name[0]))];
  if (k && iequals(name, k->name)) return k->id;
  return HeaderId::kOther;
}

bool has_token(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    std::size_t comma = list.find(',');
    std::string_view item = list.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

namespace {

// reg-name bytes other than '%' (RFC 3986: unreserved / sub-delims).
constexpr bool reg_name_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~' || c == '!' || c == '$' || c == '&' || c == '\'' ||
         c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' || c == '=';
}
constexpr bool hex_digit(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool valid_reg_name(std::string_view name) {
  for (std::size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c == '%') {
      if (i + 2 >= name.size() || !hex_digit(name[i + 1]) || !hex_digit(name[i + 2])) {
        return false;
      }
      i += 2;
    } else if (!reg_name_byte(c)) {
      return false;
    }
  }
  return true;
}

// The inside of "[...]": hex digits, ':' and '.' (an embedded IPv4 tail), at least one ':'.
bool valid_ip_literal(std::string_view inside) {
  if (inside.size() < 2 || inside.find(':') == std::string_view::npos) return false;
  for (unsigned char c : inside) {
    if (!hex_digit(c) && c != ':' && c != '.') return false;
  }
  return true;
}

bool valid_port(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  uint32_t value = 0;
  for (unsigned char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  return value <= 65535;
}

}  // namespace

bool valid_authority(std::string_view authority) {
  std::string_view host = authority;
  std::string_view rest;
  if (!host.empty() && host.front() == '[') {
    std::size_t close = host.find(']');
    if (close == std::string_view::npos || !valid_ip_literal(host.substr(1, close - 1))) {
      return false;
    }
    rest = host.substr(close + 1);
    host = host.substr(0, close + 1);
  } else {
    std::size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      rest = host.substr(colon);
      host = host.substr(0, colon);
    }
    if (host.empty() || !valid_reg_name(host)) return false;
  }
  if (rest.empty()) return true;
  return rest.front() == ':' && valid_port(rest.substr(1));
}

const Header* HeaderList::find(std::string_view name) const {
  for (const Header& h : *this) {
    if (iequals(h.name, name)) return &h;
  }
  return nullptr;
}


}  // namespace turnpike::http
