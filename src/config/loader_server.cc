// The process-level sections of the config: server, admin, logging, tracing.
#include <charconv>
#include <limits>
#include <map>
#include <string>

#include "config/loader_internal.h"
#include "config/values.h"

namespace turnpike::config::detail {
namespace {

constexpr int kMaxWorkers = 1024;

// Two listen addresses that cannot both be bound: the same port, and the same host or a
// wildcard that covers the other ("" and "::" take every address, since Linux binds "::"
// dual-stack by default; "0.0.0.0" takes every IPv4 address).
bool addresses_conflict(const HostPort& a, const HostPort& b) {
  if (a.port != b.port) return false;
  if (a.host == b.host) return true;
  auto covers = [](const HostPort& wide, const HostPort& other) {
    if (wide.host.empty() || wide.host == "::") return true;
    return wide.host == "0.0.0.0" && other.host.find(':') == std::string::npos;
  };
  return covers(a, b) || covers(b, a);
}

struct BoundAddress {
  std::string path;  // e.g. "server.listeners[0]"
  HostPort address;
};

// Records an error at `at` when `address` conflicts with one already bound.
void check_conflict(const Reader& at, const HostPort& address,
                    const std::vector<BoundAddress>& bound) {
  for (const BoundAddress& other : bound) {
    if (addresses_conflict(address, other.address)) {
      at.error("address " + address.to_string() + " conflicts with " + other.path + " (" +
               other.address.to_string() + ")");
      return;
    }
  }
}

void parse_workers(const Reader& value, int& out) {
  auto text = value.string();
  if (!text) return;
  if (*text == "auto") {
    out = 0;
    return;
  }
  int workers = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, workers);
  if (text->empty() || ec != std::errc() || ptr != end || workers < 1 || workers > kMaxWorkers) {
    value.error("must be \"auto\" or an integer between 1 and " + std::to_string(kMaxWorkers));
    return;
  }
  out = workers;
}

ListenerTls parse_listener_tls(const Reader& tls) {
  ListenerTls out;
  if (!tls.expect_map({"certificates", "min_version", "alpn", "acme"})) return out;
  tls.child("acme").not_supported();
  if (auto items = tls.required("certificates").items()) {
    if (items->empty()) tls.child("certificates").error("at least one certificate is required");
    for (const Reader& item : *items) {
      if (!item.expect_map({"cert", "key"})) continue;
      TlsCertificate c;
      if (auto v = item.required("cert").string()) c.cert = *v;
      if (auto v = item.required("key").string()) c.key = *v;
      out.certificates.push_back(std::move(c));
    }
  }
  if (auto v = tls.child("min_version").one_of({"1.2", "1.3"})) out.min_version = *v == "1.3" ? 13 : 12;
  Reader alpn = tls.child("alpn");
  if (auto list = alpn.string_list()) {
    out.alpn.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      const std::string& protocol = (*list)[i];
      if (protocol == "h2") {
        alpn.error("\"h2\" is not supported yet (HTTP/2 is still to come): offer [http/1.1]");
      } else if (protocol != "http/1.1") {
        alpn.error("unknown protocol \"" + protocol + "\" (known: http/1.1)");
      } else {
        out.alpn.push_back(protocol);
      }
    }
    if (list->empty()) alpn.error("at least one protocol is required");
  }
  return out;
}

void parse_listeners(const Reader& value, std::vector<Listener>& out) {
  if (!value.present()) {
    out.push_back({"public", {"0.0.0.0", 8080}});
    return;
  }
  auto items = value.items();
  if (!items) return;
  if (items->empty()) value.error("at least one listener is required");
  std::map<std::string, std::string> name_owner;
  std::vector<BoundAddress> bound;
  for (size_t i = 0; i < items->size(); ++i) {
    const Reader& item = (*items)[i];
    if (!item.expect_map({"name", "address", "tls"})) continue;
    Listener listener;
    if (Reader tls = item.child("tls"); tls.present()) listener.tls = parse_listener_tls(tls);
    listener.name = read_unique_name(item, "listener", "listener-" + std::to_string(i), name_owner);
    Reader address = item.required("address");
    if (auto host_port = address.host_port(HostForm::kListener)) {
      listener.address = *host_port;
      check_conflict(address, listener.address, bound);
      bound.push_back({item.path(), listener.address});
    }
    out.push_back(std::move(listener));
  }
}

void parse_limits(const Reader& section, Limits& out) {
  if (!section.expect_map({"max_header_bytes", "max_body_bytes", "header_timeout", "idle_timeout",
                           "max_connections"})) {
    return;
  }
  if (auto v = section.child("max_header_bytes").bytes()) out.max_header_bytes = *v;
  if (auto v = section.child("max_body_bytes").bytes()) out.max_body_bytes = *v;
  if (auto v = section.child("header_timeout").duration()) out.header_timeout = *v;
  if (auto v = section.child("idle_timeout").duration()) out.idle_timeout = *v;
  auto max_connections =
      section.child("max_connections").integer(1, std::numeric_limits<int64_t>::max());
  if (max_connections) out.max_connections = static_cast<uint64_t>(*max_connections);
}

}  // namespace

void parse_server(const Reader& section, Server& out) {
  if (!section.expect_map({"workers", "listeners", "limits", "drain_timeout", "trusted_proxies"})) {
    return;
  }
  parse_workers(section.child("workers"), out.workers);
  parse_listeners(section.child("listeners"), out.listeners);
  parse_limits(section.child("limits"), out.limits);
  // 0s is a real choice here: exit without waiting for requests in flight.
  if (auto v = section.child("drain_timeout").duration(Reader::Zero::kAllow)) {
    out.drain_timeout = *v;
  }
  if (auto v = section.child("trusted_proxies").cidr_list()) out.trusted_proxies = std::move(*v);
}

void parse_admin(const Reader& section, const Server& server, const Config* running,
                 Admin& out) {
  if (!section.expect_map({"address", "token"})) return;
  Reader address = section.child("address");
  out.address = address.host_port(HostForm::kListener);
  if (out.address) {
    std::vector<BoundAddress> bound;
    for (size_t i = 0; i < server.listeners.size(); ++i) {
      bound.push_back({"server.listeners[" + std::to_string(i) + "]", server.listeners[i].address});
    }
    check_conflict(address, *out.address, bound);
  }
  Reader token = section.child("token");
  auto token_text = token.string();
  if (token.present() && !token_text) return;  // already reported (e.g. an unset ${VAR})
  if (token_text && *token_text == kRedacted) {
    token_text = keep_redacted(token, *token_text, running ? &running->admin.token : nullptr);
    if (!token_text) return;
  }
  out.token = token_text.value_or("");
  // An admin API reachable from the network without a token would hand out the gateway.
  if (out.address && !is_loopback(*out.address) && out.token.empty()) {
    token.error("required when admin.address is not a loopback address");
  }
}

void parse_logging(const Reader& section, Logging& out) {
  if (!section.expect_map({"level", "access_log"})) return;
  if (auto v = section.child("level").one_of({"debug", "info", "warn", "error"})) out.level = *v;
  Reader access_log = section.child("access_log");
  if (!access_log.expect_map({"path", "format"})) return;
  // stdout, stderr and off are names; anything else is a file path.
  if (auto v = access_log.child("path").non_empty_string()) out.access_log.path = *v;
  if (auto v = access_log.child("format").one_of({"json"})) out.access_log.format = *v;
}

void parse_tracing(const Reader& section, Tracing& out) {
  if (!section.expect_map({"otlp"})) return;
  Reader otlp_section = section.child("otlp");
  if (!otlp_section.present() ||
      !otlp_section.expect_map({"endpoint", "sample_ratio", "service_name"})) {
    return;
  }
  Otlp otlp;
  Reader endpoint = otlp_section.required("endpoint");
  if (auto text = endpoint.non_empty_string()) {
    Parsed<Url> url = parse_url(*text);
    if (!url) {
      endpoint.error(url.error);
    } else if (url.value->scheme != "http") {
      endpoint.error("must be an http:// URL");
    } else {
      otlp.endpoint = *text;
    }
  }
  if (auto v = otlp_section.child("sample_ratio").number(0, 1)) otlp.sample_ratio = *v;
  if (auto v = otlp_section.child("service_name").non_empty_string()) otlp.service_name = *v;
  out.otlp = std::move(otlp);
}

}  // namespace turnpike::config::detail
