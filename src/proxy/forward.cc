// Forwarded heads (see forward.h).
#include "proxy/forward.h"

#include <charconv>
#include <cstring>

#include "proxy/engine.h"

namespace turnpike::proxy {

using http::Header;
using http::HeaderId;

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

// The Connection header's tokens other than close/keep-alive/upgrade name more hop-by-hop fields
// (RFC 9110 §7.6.1); the parser noted whether there are any.
void drop_connection_named(http::HeaderList& headers, bool names_fields) {
  if (!names_fields) return;
  for (const Header& connection : headers) {
    if (connection.id != HeaderId::kConnection) continue;
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

// The fields marked `forward`, copied as they arrived, in runs of adjacent lines.
void add_forwarded_lines(HeadWriter& w, const http::HeaderList& headers) {
  const char* run = nullptr;
  const char* run_end = nullptr;
  for (const Header& h : headers) {
    if (!h.forward) continue;
    if (h.name.data() != run_end) {
      if (run) w.add(run, run_end);
      run = h.name.data();
    }
    run_end = h.line_end;
  }
  if (run) w.add(run, run_end);
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
  drop_connection_named(x.request.headers, x.request.connection_names_fields);
}

net::Buffer& head_buffer(Exchange& x, std::size_t capacity) {
  if (!x.out || x.out->capacity() < capacity) x.out = x.engine.buffers().acquire(capacity);
  x.out->clear();
  return *x.out;
}

void write_upstream_head(Exchange& x, HeadWriter& w, std::string_view host_fallback) {
  const http::RequestHead& r = x.request;
  w.add(r.method);
  w.add(" ");
  w.add(x.forwarded_path);
  if (x.has_query) {
    w.add("?");
    w.add(x.query);
  }
  w.add(" HTTP/1.1\r\n");
  add_forwarded_lines(w, r.headers);
  if (x.absolute_form || x.host.empty()) {
    w.add_header("Host", x.host.empty() ? host_fallback : x.host);
  }

  bool trusted = peer_trusted(x);
  // X-Forwarded-For: what the client sent, then the peer (always appended).
  w.add("X-Forwarded-For: ");
  for (const Header& h : r.headers) {
    if (h.id == HeaderId::kXForwardedFor && !trim(h.value).empty()) {
      w.add(trim(h.value));
      w.add(", ");
    }
  }
  w.add(x.peer_ip);
  w.add("\r\n");
  const Header* proto = trusted ? r.headers.find(HeaderId::kXForwardedProto) : nullptr;
  w.add_header("X-Forwarded-Proto", proto ? proto->value : std::string_view("http"));
  const Header* fwd_host = trusted ? r.headers.find(HeaderId::kXForwardedHost) : nullptr;
  std::string_view forwarded_host = fwd_host ? fwd_host->value : x.host;
  if (!forwarded_host.empty()) w.add_header("X-Forwarded-Host", forwarded_host);
  if (x.request_id.data() == x.generated_id) w.add_header("X-Request-Id", x.request_id);
  w.add_header("traceparent", std::string_view(x.traceparent, sizeof(x.traceparent)));
  w.add("\r\n");
}

void write_client_head(Exchange& x, HeadWriter& w, ResponseBody body) {
  http::ResponseHead& r = x.response;
  for (Header& h : r.headers) {
    h.forward = !hop_by_hop(h.id) && h.id != HeaderId::kXRequestId &&
                !(body == ResponseBody::kDechunk && h.id == HeaderId::kTransferEncoding);
  }
  drop_connection_named(r.headers, r.connection_names_fields);

  char status[4];
  std::to_chars(status, status + 3, r.status);
  status[3] = ' ';
  std::string_view reason = r.reason.empty() ? http::reason_phrase(r.status) : r.reason;
  w.add("HTTP/1.1 ");
  w.add(std::string_view(status, 4));
  w.add(reason);
  w.add("\r\n");
  add_forwarded_lines(w, r.headers);
  w.add_header("X-Request-Id", x.request_id);
  if (body == ResponseBody::kRechunk) w.add("Transfer-Encoding: chunked\r\n");
  if (x.close_after) {
    w.add("Connection: close\r\n");
  } else if (x.request.version_minor == 0) {
    w.add("Connection: keep-alive\r\n");
  }
  w.add("\r\n");
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
