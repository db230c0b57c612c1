// Header classification and case-insensitive helpers (see headers.h).
#include "http/headers.h"

#include <array>

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

const Header* HeaderList::find(std::string_view name) const {
  for (const Header& h : *this) {
    if (iequals(h.name, name)) return &h;
  }
  return nullptr;
}


}  // namespace turnpike::http
