// Header classification and case-insensitive helpers (see headers.h).
#include "http/headers.h"

#include <algorithm>
#include <array>
#include <cctype>
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

bool iequals_bytes(const char* a, const char* b, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
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

bool is_token(std::string_view text) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](unsigned char c) {
    return std::isalnum(c) || kSymbols.find(static_cast<char>(c)) != std::string_view::npos;
  });
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

// Byte classes for authorities: one table lookup per byte (the Host of every request passes here).
struct AuthorityBytes {
  bool reg_name[256];  // RFC 3986 unreserved / sub-delims ('%' is handled apart)
  bool hex[256];
  constexpr AuthorityBytes() : reg_name(), hex() {
    for (int c = 0; c < 256; ++c) {
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      reg_name[c] = alnum || c == '-' || c == '.' || c == '_' || c == '~' || c == '!' ||
                    c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
                    c == '+' || c == ',' || c == ';' || c == '=';
      hex[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
  }
};
constexpr AuthorityBytes kAuthority;

bool valid_port(const char* p, const char* end) {
  if (p == end || end - p > 5) return false;
  uint32_t value = 0;
  for (; p < end; ++p) {
    if (*p < '0' || *p > '9') return false;
    value = value * 10 + static_cast<uint32_t>(*p - '0');
  }
  return value <= 65535;
}

}  // namespace

bool valid_authority(std::string_view authority) {
  const char* p = authority.data();
  const char* end = p + authority.size();
  if (p == end) return false;
  if (*p == '[') {
    // The inside of "[...]": hex digits, ':' and '.' (an embedded IPv4 tail), at least one ':'.
    ++p;
    bool colon = false;
    const char* start = p;
    for (; p < end && *p != ']'; ++p) {
      auto c = static_cast<unsigned char>(*p);
      colon = colon || c == ':';
      if (!kAuthority.hex[c] && c != ':' && c != '.') return false;
    }
    if (p == end || p - start < 2 || !colon) return false;
    ++p;
  } else {
    const char* start = p;
    for (; p < end && *p != ':'; ++p) {
      auto c = static_cast<unsigned char>(*p);
      if (kAuthority.reg_name[c]) continue;
      if (c != '%' || end - p < 3 || !kAuthority.hex[static_cast<unsigned char>(p[1])] ||
          !kAuthority.hex[static_cast<unsigned char>(p[2])]) {
        return false;
      }
      p += 2;
    }
    if (p == start) return false;
  }
  if (p == end) return true;
  return *p == ':' && valid_port(p + 1, end);
}

const Header* HeaderList::find(std::string_view name) const {
  for (const Header& h : *this) {
    if (iequals(h.name, name)) return &h;
  }
  return nullptr;
}


}  // namespace turnpike::http
