// What the gateway changes in a message it forwards (SPEC §4): hop-by-hop fields out,
// X-Forwarded-* and X-Request-Id in, the path rewritten. A forwarded head is written as one
// contiguous block: copying a few hundred bytes costs less than handing the kernel a slice per
// header run (measured: the kernel's per-slice copy showed up at twice nginx's share).
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstring>
#include <string_view>

#include "net/buffer.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Writes a head as one contiguous block at the end of `out`.
class HeadWriter {
 public:
  explicit HeadWriter(net::Buffer& out) : out_(out), start_(out.write_ptr()) {}

  void add(std::string_view text) {
    if (text.size() > out_.writable()) {
      overflow_ = true;
      return;
    }
    std::memcpy(out_.write_ptr(), text.data(), text.size());
    out_.commit(text.size());
  }
  void add(const char* begin, const char* end) { add(std::string_view(begin, end - begin)); }
  void add_header(std::string_view name, std::string_view value) {
    add(name);
    add(": ");
    add(value);
    add("\r\n");
  }
  // False when `out` was too small (the head is incomplete).
  bool ok() const { return !overflow_; }
  std::string_view text() const {
    return std::string_view(start_, static_cast<std::size_t>(out_.write_ptr() - start_));
  }

 private:
  net::Buffer& out_;
  const char* start_;
  bool overflow_ = false;
};

// The slices of one sendmsg: a head, body bytes where they are, chunk framing.
class Slices {
 public:
  void add(const char* data, std::size_t length) {
    if (length == 0) return;
    if (count_ > 0) {
      iovec& last = iov_[count_ - 1];
      if (static_cast<const char*>(last.iov_base) + last.iov_len == data) {
        last.iov_len += length;
        return;
      }
    }
    iov_[count_++] = {const_cast<char*>(data), length};
  }
  void add(std::string_view s) { add(s.data(), s.size()); }
  iovec* iov() { return iov_.data(); }
  int count() const { return count_; }

 private:
  std::array<iovec, 8> iov_;
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
void write_upstream_head(Exchange& x, HeadWriter& w, std::string_view host_fallback);

enum class ResponseBody : uint8_t {
  kAsIs,      // forward the upstream's framing unchanged
  kRechunk,   // close-delimited upstream body -> chunked to an HTTP/1.1 client
  kDechunk,   // chunked upstream body -> close-delimited to an HTTP/1.0 client
};
// The client response head.
void write_client_head(Exchange& x, HeadWriter& w, ResponseBody body);
// A buffer of at least `capacity` bytes for composing a head (x.out, cleared).
net::Buffer& head_buffer(Exchange& x, std::size_t capacity);

// The address the gateway believes is the client's (X-Forwarded-For is believed only from
// trusted proxies), as text.
std::string client_ip(const Exchange& x);

}  // namespace turnpike::proxy
