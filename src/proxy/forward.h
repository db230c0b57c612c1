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
#include "plugins/plugin.h"
#include "proxy/exchange.h"
#include "routing/router.h"

namespace turnpike::proxy {

// Writes a head as one contiguous block at the end of `out`.
class HeadWriter {
 public:
  explicit HeadWriter(net::Buffer& out) : out_(out), start_(out.write_ptr()) {}

  void add(std::string_view text) {
    // An empty view may have no data at all, and memcpy from null is undefined even for 0 bytes.
    if (text.empty()) return;
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
  void append(const Slices& other) {
    for (int i = 0; i < other.count_; ++i) {
      add(static_cast<const char*>(other.iov_[i].iov_base), other.iov_[i].iov_len);
    }
  }
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

// The router reads a request's header conditions through this.
class RequestHeaders final : public routing::HeaderSource {
 public:
  explicit RequestHeaders(const http::HeaderList& headers) : headers_(headers) {}
  std::optional<std::string_view> get(std::string_view lower_name) const override {
    const http::Header* h = headers_.find(lower_name);
    if (!h) return std::nullopt;
    return h->value;
  }

 private:
  const http::HeaderList& headers_;
};

// A request-target taken apart.
struct RequestTarget {
  std::string_view host;      // authority (absolute-form) or Host header, as sent
  std::string_view raw_path;  // path as sent
  std::string_view query;     // after '?', empty when none
  bool has_query = false;
  bool absolute_form = false;
};

// Splits the request-target into host (absolute-form, else the Host header), path and query.
// Returns null or why the target is unacceptable (400).
const char* split_target(const http::RequestHead& request, RequestTarget& out);
// The same into the exchange's fields.
const char* split_target(Exchange& x);

// What the gateway writes into a forwarded request head besides the client's kept fields.
struct ForwardedRequest {
  std::string_view path;   // the forwarded path (normalized, strip_prefix, base path)
  std::string_view query;
  bool has_query = false;
  std::string_view host;   // the authority the request was routed on
  std::string_view peer_ip;
  bool peer_trusted = false;  // X-Forwarded-Proto/Host from the client are believed
  bool secure = false;        // the client came over TLS: X-Forwarded-Proto is https
  std::string_view request_id;
  std::string_view traceparent;
  const plugins::HeaderEdits* edits = nullptr;  // the request phase's, if any
  bool upgrade = false;  // a WebSocket upgrade: Connection: Upgrade and Upgrade: websocket
};

// What the gateway decides for a forwarded response head.
struct ForwardedResponse {
  ResponseBody body = ResponseBody::kAsIs;
  std::string_view request_id;
  bool close = false;          // Connection: close (the client connection ends after it)
  bool client_http10 = false;  // an HTTP/1.0 client is told keep-alive explicitly
  const plugins::HeaderEdits* edits = nullptr;  // the response phase's, if any
  bool upgrade = false;  // the upstream's 101 to a WebSocket upgrade: the connection switches
};

// The end of every client-bound head, the upstream's and the gateway's own answers alike:
// X-Request-Id, the response phase's edits, the connection decision, the blank line.
void write_response_tail(HeadWriter& w, const ForwardedResponse& f);

// Marks which of the client's fields are copied: not hop-by-hop ones (those a Connection token
// names included), not framing, not the fields the gateway writes itself (Host, X-Forwarded-*,
// X-Request-Id, traceparent). A Connection token can therefore remove only the client's copy of
// a field; it never changes how the forwarded message is framed or addressed.
void mark_request_fields(http::RequestHead& r, bool trace_continued);
void mark_request_fields(Exchange& x);

// The forwarded request head (after mark_request_fields): request line, Host, the kept fields,
// then exactly one framing field for the body that follows (none for no body), X-Forwarded-*,
// X-Request-Id, traceparent.
void write_request_head(http::RequestHead& r, const ForwardedRequest& f, HeadWriter& w);
// The client-bound response head: the upstream's end-to-end fields (less those the edits drop),
// exactly one framing field for the body the client will receive, then write_response_tail.
void write_response_head(http::ResponseHead& r, const ForwardedResponse& f, HeadWriter& w);

// The same, from an exchange. `host_fallback` is used when the client sent no Host (HTTP/1.0).
void write_upstream_head(Exchange& x, HeadWriter& w, std::string_view host_fallback);
void write_client_head(Exchange& x, HeadWriter& w, ResponseBody body);
// Head bytes the plugins' edits may add (request-bound or client-bound), for sizing a head buffer.
inline std::size_t edit_bytes(const std::optional<plugins::Context>& c, bool request) {
  if (!c) return 0;
  return (request ? c->request_headers : c->response_headers).line_bytes();
}

// The response decisions of an exchange (its id, edits, connection) for a head about to be
// written; `body` only matters for forwarded responses.
ForwardedResponse response_of(const Exchange& x, ResponseBody body = ResponseBody::kAsIs);
// A buffer of at least `capacity` bytes for composing a head (x.out, cleared).
net::Buffer& head_buffer(Exchange& x, std::size_t capacity);

// True when the peer is one of server.trusted_proxies (its X-Forwarded-* are believed).
bool peer_trusted(const Exchange& x);

// The address the gateway believes is the client's (X-Forwarded-For is believed only from
// trusted proxies), as text.
std::string client_ip(const Exchange& x);

}  // namespace turnpike::proxy
