// What the gateway changes in a message it forwards (SPEC §4): hop-by-hop fields out,
// X-Forwarded-* and X-Request-Id in, the path rewritten. Heads are written as an iovec list of
// the client's own header lines (no copy) plus the few lines the gateway adds.
#pragma once

#include <sys/uio.h>

#include <array>
#include <string_view>

#include "net/buffer.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Collects a head as slices: kept bytes in place, added text copied into a scratch buffer.
class HeadWriter {
 public:
  explicit HeadWriter(net::Buffer& scratch) : scratch_(scratch) {}

  // A slice that stays where it is (the client's or upstream's header lines).
  void keep(const char* begin, const char* end);
  // Text copied into the scratch buffer; false when the scratch buffer is full.
  bool add(std::string_view text);
  bool add_header(std::string_view name, std::string_view value);

  iovec* iov() { return iov_.data(); }
  int count() const { return count_; }
  std::size_t size() const;

 private:
  void push(const char* data, std::size_t length);
  net::Buffer& scratch_;
  std::array<iovec, 128> iov_;
  int count_ = 0;
};

// A request id the gateway may keep: 1..128 visible ASCII characters.
bool is_sane_request_id(std::string_view id);
// The client's X-Request-Id when sane, else a new one.
void assign_request_id(Exchange& x);

// Splits the request-target into host (absolute-form), path and query. Returns null or why the
// target is unacceptable (400).
const char* split_target(Exchange& x);

// Marks which request fields are forwarded (hop-by-hop and replaced ones are not).
void mark_request_fields(Exchange& x);
// The upstream request head. `host_fallback` is used when the client sent no Host (HTTP/1.0).
bool write_upstream_head(Exchange& x, HeadWriter& w, std::string_view host_fallback);

enum class ResponseBody : uint8_t {
  kAsIs,      // forward the upstream's framing unchanged
  kRechunk,   // close-delimited upstream body -> chunked to an HTTP/1.1 client
  kDechunk,   // chunked upstream body -> close-delimited to an HTTP/1.0 client
};
// The client response head.
bool write_client_head(Exchange& x, HeadWriter& w, ResponseBody body);

// The address the gateway believes is the client's (X-Forwarded-For is believed only from
// trusted proxies), as text.
std::string client_ip(const Exchange& x);

}  // namespace turnpike::proxy
