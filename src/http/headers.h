// Header fields as views into a connection's read buffer, classified once by name so that the
// request path never compares the same name twice.
#pragma once

#include <array>
#include <new>
#include <type_traits>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace turnpike::http {

// Names the proxy acts on. Everything else is kOther and forwarded untouched.
enum class HeaderId : uint8_t {
  kOther,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTrailer,
  kUpgrade,
  kExpect,
  kProxyAuthorization,
  kProxyAuthenticate,
  kXRequestId,
  kXForwardedFor,
  kXForwardedProto,
  kXForwardedHost,
  kTraceparent,
  kTracestate,
  kDate,
  kServer,
  kUserAgent,
  kCount,  // not a header: the number of ids
};

HeaderId classify_header(std::string_view name);

// ASCII case-insensitive equality of `n` bytes.
bool iequals_bytes(const char* a, const char* b, std::size_t n);
// ASCII case-insensitive equality (header names, tokens). Inline: most comparisons end at the
// length.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && iequals_bytes(a.data(), b.data(), a.size());
}
// True if the comma-separated token list `list` holds `token` (case-insensitive).
bool has_token(std::string_view list, std::string_view token);
// True if `text` is an RFC 9110 token: what a method or a header name is made of.
bool is_token(std::string_view text);

// True if `authority` is a valid `uri-host[:port]` (RFC 3986 §3.2.2-3): a reg-name (unreserved,
// sub-delims, pct-encoded), an IPv4 address or a bracketed IPv6 literal, then an optional port of
// 1-5 digits up to 65535. No userinfo, spaces, '/', '\\' or control bytes: a Host the gateway
// routes on is the one every upstream reads.
bool valid_authority(std::string_view authority);

struct Header {
  std::string_view name;
  std::string_view value;
  const char* line_end = nullptr;  // one past the '\n' of the raw line, which starts at name
  HeaderId id = HeaderId::kOther;
  bool forward = true;  // false: hop-by-hop or replaced by the proxy
  bool connection_named = false;  // named by a Connection token: hop-by-hop (RFC 9110 §7.6.1)
};

// A fixed-capacity list: a head with more fields than this is refused (431). The storage is left
// uninitialized, so a request does not pay for clearing 100 slots it will not use.
class HeaderList {
 public:
  static constexpr std::size_t kCapacity = 100;
  static_assert(std::is_trivially_destructible_v<Header>);

  HeaderList() {}  // NOLINT: storage stays uninitialized on purpose
  HeaderList(const HeaderList&) = delete;
  HeaderList& operator=(const HeaderList&) = delete;

  bool push(const Header& h) {
    if (size_ == kCapacity) return false;
    auto id = static_cast<std::size_t>(h.id);
    if (count_[id]++ == 0) first_[id] = static_cast<uint8_t>(size_);
    new (&items()[size_++]) Header(h);
    return true;
  }
  void clear() {
    size_ = 0;
    count_ = {};
  }
  std::size_t size() const { return size_; }
  Header& operator[](std::size_t i) { return items()[i]; }
  const Header& operator[](std::size_t i) const { return items()[i]; }
  Header* begin() { return items(); }
  Header* end() { return items() + size_; }
  const Header* begin() const { return items(); }
  const Header* end() const { return items() + size_; }

  // The first field with this id (O(1): indexed when pushed) / this name (case-insensitive).
  const Header* find(HeaderId id) const {
    auto i = static_cast<std::size_t>(id);
    return count_[i] ? &items()[first_[i]] : nullptr;
  }
  const Header* find(std::string_view name) const;
  std::size_t count(HeaderId id) const { return count_[static_cast<std::size_t>(id)]; }

 private:
  Header* items() { return std::launder(reinterpret_cast<Header*>(storage_)); }
  const Header* items() const { return std::launder(reinterpret_cast<const Header*>(storage_)); }
  alignas(Header) unsigned char storage_[kCapacity * sizeof(Header)];
  std::size_t size_ = 0;
  static constexpr std::size_t kIds = static_cast<std::size_t>(HeaderId::kCount);
  std::array<uint8_t, kIds> first_{};
  std::array<uint8_t, kIds> count_{};
};

}  // namespace turnpike::http
