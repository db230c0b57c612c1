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

const char* split_target(const http::RequestHead& request, RequestTarget& out) {
  std::string_view target = request.target;
  if (target.size() > 7 && (http::iequals(target.substr(0, 7), "http://") ||
                            (target.size() > 8 && http::iequals(target.substr(0, 8), "https://")))) {
    std::size_t scheme_end = target.find("://") + 3;
    std::size_t authority_end = target.find_first_of("/?", scheme_end);
    out.host = target.substr(scheme_end, authority_end - scheme_end);
    if (out.host.empty()) return "empty authority in request target";
    out.absolute_form = true;
    target = authority_end == std::string_view::npos ? std::string_view("/")
                                                     : target.substr(authority_end);
    if (target.front() == '?') return "request target without a path";
  } else {
    if (target.empty() || target.front() != '/') return "request target is not a path";
    const Header* host = request.headers.find(HeaderId::kHost);
    out.host = host ? host->value : std::string_view();
  }
  // The authority routed on is the one every upstream reads: nothing a parser could split
  // differently (RFC 3986 §3.2.2; nginx answers these 400 too).
  if (!out.host.empty() && !http::valid_authority(out.host)) return "invalid Host";
  if (target.find('#') != std::string_view::npos) return "fragment in request target";
  std::size_t q = target.find('?');
  out.raw_path = target.substr(0, q);
  out.has_query = q != std::string_view::npos;
  out.query = out.has_query ? target.substr(q + 1) : std::string_view();
  return nullptr;
}

const char* split_target(Exchange& x) {
  RequestTarget t;
  const char* why = split_target(x.request, t);
  x.host = t.host;
  x.raw_path = t.raw_path;
  x.query = t.query;
  x.has_query = t.has_query;
  x.absolute_form = t.absolute_form;
  return why;
}

namespace {

// Fields that belong to one hop (RFC 9110 §7.6.1) and are never forwarded.
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

// The framing of a forwarded message is the gateway's (written from what it parsed), never a
// copy of the sender's lines: a copied "Content-Length: 0043" or a framing field dropped by a
// Connection token would frame the bytes that follow differently at the next hop.
bool framing(HeaderId id) {
  return id == HeaderId::kContentLength || id == HeaderId::kTransferEncoding;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A field the client sent that the gateway may read for itself (X-Forwarded-* from a trusted
// proxy): the first of its kind, unless a Connection token made it hop-by-hop.
const Header* end_to_end(const http::HeaderList& headers, HeaderId id) {
  const Header* h = headers.find(id);
  return h && !h->connection_named ? h : nullptr;
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

// The kept fields less those the edits drop, then the edits' own lines. Edits never name a
// protected field (configuration refuses them), so framing and addressing stay the gateway's.
void add_edited_lines(HeadWriter& w, http::HeaderList& headers,
                      const plugins::HeaderEdits& edits) {
  for (Header& h : headers) {
    if (h.forward && edits.drops(h.name)) h.forward = false;
  }
  add_forwarded_lines(w, headers);
  edits.for_each_line([&](std::string_view name, std::string_view value) {
    w.add_header(name, value);
  });
}

void add_content_length(HeadWriter& w, uint64_t length) {
  char digits[20];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), length);
  w.add("Content-Length: ");
  w.add(digits, end);
  w.add("\r\n");
}

}  // namespace

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

void mark_request_fields(http::RequestHead& r, bool trace_continued) {
  for (Header& h : r.headers) {
    switch (h.id) {
      case HeaderId::kHost:             // written by the gateway: the authority it routed on
      case HeaderId::kExpect:           // the gateway answers 100-continue itself
      case HeaderId::kXForwardedFor:    // the gateway writes these four itself
      case HeaderId::kXForwardedProto:
      case HeaderId::kXForwardedHost:
      case HeaderId::kXRequestId:
      case HeaderId::kTraceparent:      // replaced by the gateway's own span
        h.forward = false;
        break;
      case HeaderId::kTracestate:  // belongs to the trace it came with
        h.forward = trace_continued && !h.connection_named;
        break;
      default:
        h.forward = !hop_by_hop(h.id) && !framing(h.id) && !h.connection_named;
    }
  }
}

void write_request_head(http::RequestHead& r, const ForwardedRequest& f, HeadWriter& w) {
  w.add(r.method);
  w.add(" ");
  w.add(f.path);
  if (f.has_query) {
    w.add("?");
    w.add(f.query);
  }
  w.add(" HTTP/1.1\r\n");
  w.add_header("Host", f.host);
  if (f.upgrade) w.add("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  if (f.edits && !f.edits->empty()) {
    add_edited_lines(w, r.headers, *f.edits);
  } else {
    add_forwarded_lines(w, r.headers);
  }
  switch (r.framing) {
    case http::Framing::kContentLength: add_content_length(w, r.content_length); break;
    case http::Framing::kChunked: w.add("Transfer-Encoding: chunked\r\n"); break;
    case http::Framing::kNone:
      // An explicit empty body (a POST with Content-Length: 0) stays explicit.
      if (r.headers.count(HeaderId::kContentLength)) w.add("Content-Length: 0\r\n");
      break;
    case http::Framing::kUntilClose: break;  // not a request framing
  }

  // X-Forwarded-For: what the client sent (unless Connection made it hop-by-hop), then the peer.
  w.add("X-Forwarded-For: ");
  for (const Header& h : r.headers) {
    if (h.id == HeaderId::kXForwardedFor && !h.connection_named && !trim(h.value).empty()) {
      w.add(trim(h.value));
      w.add(", ");
    }
  }
  w.add(f.peer_ip);
  w.add("\r\n");
  const Header* proto = f.peer_trusted ? end_to_end(r.headers, HeaderId::kXForwardedProto) : nullptr;
  w.add_header("X-Forwarded-Proto",
               proto ? proto->value : std::string_view(f.secure ? "https" : "http"));
  const Header* fwd_host = f.peer_trusted ? end_to_end(r.headers, HeaderId::kXForwardedHost)
                                          : nullptr;
  std::string_view forwarded_host = fwd_host ? fwd_host->value : f.host;
  if (!forwarded_host.empty()) w.add_header("X-Forwarded-Host", forwarded_host);
  w.add_header("X-Request-Id", f.request_id);
  w.add_header("traceparent", f.traceparent);
  w.add("\r\n");
}

void write_response_head(http::ResponseHead& r, const ForwardedResponse& f, HeadWriter& w) {
  for (Header& h : r.headers) {
    h.forward = !hop_by_hop(h.id) && !framing(h.id) && !h.connection_named &&
                h.id != HeaderId::kXRequestId && !(f.edits && f.edits->drops(h.name));
  }
  char status[4];
  std::to_chars(status, status + 3, r.status);
  status[3] = ' ';
  std::string_view reason = r.reason.empty() ? http::reason_phrase(r.status) : r.reason;
  w.add("HTTP/1.1 ");
  w.add(std::string_view(status, 4));
  w.add(reason);
  w.add("\r\n");
  add_forwarded_lines(w, r.headers);
  switch (r.framing) {
    case http::Framing::kContentLength: add_content_length(w, r.content_length); break;
    case http::Framing::kChunked:
      if (f.body != ResponseBody::kDechunk) w.add("Transfer-Encoding: chunked\r\n");
      break;
    case http::Framing::kUntilClose:
      if (f.body == ResponseBody::kRechunk) w.add("Transfer-Encoding: chunked\r\n");
      break;
    case http::Framing::kNone:
      // No content follows. A stated length stays: for HEAD and 304 it is the representation's
      // (RFC 9110 §8.6); for anything else it frames the empty body. 1xx and 204 have none.
      if (r.headers.count(HeaderId::kContentLength) && r.status >= 200 && r.status != 204) {
        add_content_length(w, r.content_length);
      }
      break;
  }
  write_response_tail(w, f);
}

void write_response_tail(HeadWriter& w, const ForwardedResponse& f) {
  w.add_header("X-Request-Id", f.request_id);
  if (f.edits) {
    f.edits->for_each_line([&](std::string_view name, std::string_view value) {
      w.add_header(name, value);
    });
  }
  if (f.upgrade) {
    w.add("Connection: Upgrade\r\nUpgrade: websocket\r\n");
  } else if (f.close) {
    w.add("Connection: close\r\n");
  } else if (f.client_http10) {
    w.add("Connection: keep-alive\r\n");
  }
  w.add("\r\n");
}

void mark_request_fields(Exchange& x) { mark_request_fields(x.request, x.trace.continued); }

net::Buffer& head_buffer(Exchange& x, std::size_t capacity) {
  if (!x.out || x.out->capacity() < capacity) x.out = x.engine.buffers().acquire(capacity);
  x.out->clear();
  return *x.out;
}

void write_upstream_head(Exchange& x, HeadWriter& w, std::string_view host_fallback) {
  ForwardedRequest f;
  f.path = x.forwarded_path;
  f.query = x.query;
  f.has_query = x.has_query;
  f.host = x.host.empty() ? host_fallback : x.host;
  f.peer_ip = x.peer_ip;
  f.peer_trusted = peer_trusted(x);
  f.secure = x.client.secure;
  f.request_id = x.request_id;
  f.traceparent = std::string_view(x.traceparent, sizeof(x.traceparent));
  if (x.plugins) f.edits = &x.plugins->request_headers;
  f.upgrade = x.upgrade;
  write_request_head(x.request, f, w);
}

ForwardedResponse response_of(const Exchange& x, ResponseBody body) {
  ForwardedResponse f{body, x.request_id, x.close_after, x.request.version_minor == 0};
  if (x.plugins) f.edits = &x.plugins->response_headers;
  f.upgrade = x.upgrade && x.response.status == 101;
  return f;
}

void write_client_head(Exchange& x, HeadWriter& w, ResponseBody body) {
  write_response_head(x.response, response_of(x, body), w);
}

std::string client_ip(const Exchange& x) {
  std::string peer(x.peer_ip);
  if (!peer_trusted(x)) return peer;
  // Walk X-Forwarded-For from the right, skipping trusted proxies: the first address that is
  // not one is the client.
  std::string_view last_seen;
  for (std::size_t i = x.request.headers.size(); i-- > 0;) {
    const Header& h = x.request.headers[i];
    if (h.id != HeaderId::kXForwardedFor || h.connection_named) continue;
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
