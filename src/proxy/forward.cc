// Forwarded heads (see forward.h).
#include "proxy/forward.h"

#include <charconv>
#include <cstring>

#include "proxy/engine.h"

namespace turnpike::proxy {

using http::Header;
using http::HeaderId;

void HeadWriter::push(const char* data, std::size_t length) {
  if (length == 0) return;
  if (count_ > 0) {
    iovec& last = iov_[count_ - 1];
    if (static_cast<const char*>(last.iov_base) + last.iov_len == data) {
      last.iov_len += length;
      return;
    }
  }
  // 128 slices is more than a head of 100 fields can need (every other field dropped).
  iov_[count_++] = {const_cast<char*>(data), length};
}

void HeadWriter::keep(const char* begin, const char* end) { push(begin, end - begin); }

bool HeadWriter::add(std::string_view text) {
  if (text.size() > scratch_.writable()) return false;
  char* at = scratch_.write_ptr();
  std::memcpy(at, text.data(), text.size());
  scratch_.commit(text.size());
  push(at, text.size());
  return true;
}

bool HeadWriter::add_header(std::string_view name, std::string_view value) {
  return add(name) && add(": ") && add(value) && add("\r\n");
}

std::size_t HeadWriter::size() const {
  std::size_t total = 0;
  for (int i = 0; i < count_; ++i) total += iov_[i].iov_len;
  return total;
}

bool is_sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

void assign_request_id(Exchange& x) {
  const Header* sent = x.request.headers.find(HeaderId::kXRequestId);
  if (sent && is_sane_request_id(sent->value)) {
    x.request_id = sent->value;
    return;
  }
  x.engine.new_request_id(x.generated_id);
  x.request_id = std::string_view(x.generated_id, sizeof(x.generated_id));
}

const char* split_target(Exchange& x) {
  std::string_view target = x.request.target;
  if (target.size() > 7 && (http::iequals(target.substr(0, 7), "http://") ||
                            (target.size() > 8 && http::iequals(target.substr(0, 8), "https://")))) {
    std::size_t scheme_end = target.find("://") + 3;
    std::size_t authority_end = target.find_first_of("/?", scheme_end);
    x.host = target.substr(scheme_end, authority_end - scheme_end);
    if (x.host.empty()) return "empty authority in request target";
    x.absolute_form = true;
    target = authority_end == std::string_view::npos ? std::string_view("/")
                                                     : target.substr(authority_end);
    if (target.front() == '?') return "request target without a path";
  } else {
    if (target.empty() || target.front() != '/') return "request target is not a path";
    const Header* host = x.request.headers.find(HeaderId::kHost);
    x.host = host ? host->value : std::string_view();
  }
  if (target.find('#') != std::string_view::npos) return "fragment in request target";
  std::size_t q = target.find('?');
  x.raw_path = target.substr(0, q);
  x.has_query = q != std::string_view::npos;
  x.query = x.has_query ? target.substr(q + 1) : std::string_view();
  return nullptr;
}

namespace {

// The Connection header's tokens other than close/keep-alive/upgrade name more hop-by-hop
// fields (RFC 9110 §7.6.1).
bool names_extra_fields(std::string_view connection) {
  while (!connection.empty()) {
    std::size_t comma = connection.find(',');
    std::string_view token = connection.substr(0, comma);
    while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
    while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
    if (!token.empty() && !http::iequals(token, "close") && !http::iequals(token, "keep-alive") &&
        !http::iequals(token, "upgrade")) {
      return true;
    }
    if (comma == std::string_view::npos) break;
    connection.remove_prefix(comma + 1);
  }
  return false;
}

void drop_connection_named(http::HeaderList& headers) {
  for (const Header& connection : headers) {
    if (connection.id != HeaderId::kConnection || !names_extra_fields(connection.value)) continue;
    for (Header& h : headers) {
      if (h.forward && http::has_token(connection.value, h.name)) h.forward = false;
    }
  }
}

bool hop_by_hop(HeaderId id) {
  switch (id) {
    case HeaderId::kConnection:
    case HeaderId::kKeepAlive:
    case HeaderId::kProxyConnection:
    case HeaderId::kTe:
    case HeaderId::kTrailer:
    case HeaderId::kUpgrade:
    case HeaderId::kProxyAuthorization:
    case HeaderId::kProxyAuthenticate:
      return true;
    default:
      return false;
  }
}

bool peer_trusted(const Exchange& x) {
  const auto& trusted = x.snapshot->config->server.trusted_proxies;
  if (trusted.empty()) return false;
  std::array<uint8_t, 16> ip;
  x.client.peer.ip_bytes(ip.data());
  for (const config::Cidr& cidr : trusted) {
    if (cidr.contains(ip)) return true;
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

void mark_request_fields(Exchange& x) {
  const Header* kept_id = x.request_id.data() == x.generated_id ? nullptr
                          : x.request.headers.find(HeaderId::kXRequestId);
  for (Header& h : x.request.headers) {
    switch (h.id) {
      case HeaderId::kExpect:  // the gateway answers 100-continue itself
      case HeaderId::kXForwardedFor:
      case HeaderId::kXForwardedProto:
      case HeaderId::kXForwardedHost:
        h.forward = false;
        break;
      case HeaderId::kHost:
        h.forward = !x.absolute_form;
        break;
      case HeaderId::kXRequestId:
        h.forward = &h == kept_id;
        break;
      case HeaderId::kTraceparent:  // replaced by the gateway's own span
        h.forward = false;
        break;
      case HeaderId::kTracestate:  // belongs to the trace it came with
        h.forward = x.trace.continued;
        break;
      default:
        h.forward = !hop_by_hop(h.id);
    }
  }
  drop_connection_named(x.request.headers);
}

bool write_upstream_head(Exchange& x, HeadWriter& w, std::string_view host_fallback) {
  const http::RequestHead& r = x.request;
  bool ok = w.add(r.method) && w.add(" ");
  w.keep(x.forwarded_path.data(), x.forwarded_path.data() + x.forwarded_path.size());
  if (x.has_query) ok = ok && w.add("?") && (w.keep(x.query.data(), x.query.data() + x.query.size()), true);
  ok = ok && w.add(" HTTP/1.1\r\n");

  for (const Header& h : r.headers) {
    if (h.forward) w.keep(h.name.data(), h.line_end);
  }
  if (x.absolute_form || x.host.empty()) {
    ok = ok && w.add_header("Host", x.host.empty() ? host_fallback : x.host);
  }

  bool trusted = peer_trusted(x);
  // X-Forwarded-For: what the client sent, then the peer (always appended).
  ok = ok && w.add("X-Forwarded-For: ");
  for (const Header& h : r.headers) {
    if (h.id == HeaderId::kXForwardedFor && !trim(h.value).empty()) {
      ok = ok && w.add(trim(h.value)) && w.add(", ");
    }
  }
  ok = ok && w.add(x.peer_ip) && w.add("\r\n");
  const Header* proto = trusted ? r.headers.find(HeaderId::kXForwardedProto) : nullptr;
  ok = ok && w.add_header("X-Forwarded-Proto", proto ? proto->value : std::string_view("http"));
  const Header* fwd_host = trusted ? r.headers.find(HeaderId::kXForwardedHost) : nullptr;
  std::string_view forwarded_host = fwd_host ? fwd_host->value : x.host;
  if (!forwarded_host.empty()) ok = ok && w.add_header("X-Forwarded-Host", forwarded_host);
  if (x.request_id.data() == x.generated_id) ok = ok && w.add_header("X-Request-Id", x.request_id);
  ok = ok && w.add_header("traceparent", std::string_view(x.traceparent, sizeof(x.traceparent)));
  return ok && w.add("\r\n");
}

bool write_client_head(Exchange& x, HeadWriter& w, ResponseBody body) {
  http::ResponseHead& r = x.response;
  for (Header& h : r.headers) {
    h.forward = !hop_by_hop(h.id) && h.id != HeaderId::kXRequestId &&
                !(body == ResponseBody::kDechunk && h.id == HeaderId::kTransferEncoding);
  }
  drop_connection_named(r.headers);

  char status[4];
  std::to_chars(status, status + 3, r.status);
  status[3] = ' ';
  std::string_view reason = r.reason.empty() ? http::reason_phrase(r.status) : r.reason;
  bool ok = w.add("HTTP/1.1 ") && w.add(std::string_view(status, 4)) && w.add(reason) &&
            w.add("\r\n");
  for (const Header& h : r.headers) {
    if (h.forward) w.keep(h.name.data(), h.line_end);
  }
  ok = ok && w.add_header("X-Request-Id", x.request_id);
  if (body == ResponseBody::kRechunk) ok = ok && w.add("Transfer-Encoding: chunked\r\n");
  if (x.close_after) {
    ok = ok && w.add("Connection: close\r\n");
  } else if (x.request.version_minor == 0) {
    ok = ok && w.add("Connection: keep-alive\r\n");
  }
  return ok && w.add("\r\n");
}

std::string client_ip(const Exchange& x) {
  std::string peer(x.peer_ip);
  if (!peer_trusted(x)) return peer;
  // Walk X-Forwarded-For from the right, skipping trusted proxies: the first address that is
  // not one is the client.
  std::string_view last_seen;
  for (std::size_t i = x.request.headers.size(); i-- > 0;) {
    const Header& h = x.request.headers[i];
    if (h.id != HeaderId::kXForwardedFor) continue;
    std::string_view list = h.value;
    while (!list.empty()) {
      std::size_t comma = list.rfind(',');
      std::string_view item = trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      if (item.empty()) continue;
      last_seen = item;
      net::Address address;
      if (!net::make_address(std::string(item), 0, address)) return std::string(item);
      std::array<uint8_t, 16> ip;
      address.ip_bytes(ip.data());
      bool trusted = false;
      for (const config::Cidr& cidr : x.snapshot->config->server.trusted_proxies) {
        trusted = trusted || cidr.contains(ip);
      }
      if (!trusted) return std::string(item);
    }
  }
  return last_seen.empty() ? peer : std::string(last_seen);
}

}  // namespace turnpike::proxy
