// Config -> JSON and its hash (see json.h).
#include "config/json.h"

#include <openssl/evp.h>

#include <cstdio>

namespace turnpike::config {
namespace {

using nlohmann::json;

json plugins_json(const std::vector<PluginEntry>& plugins, bool redact) {
  json out = json::object();
  for (const PluginEntry& p : plugins) out[p.name] = p.config ? p.config->to_json(redact) : json();
  return out;
}

const char* retry_name(RetryOn r) {
  switch (r) {
    case RetryOn::kConnectFailure: return "connect_failure";
    case RetryOn::k502: return "502";
    case RetryOn::k503: return "503";
    case RetryOn::k504: return "504";
  }
  return "";
}

std::string cidr_text(const Cidr& c) {
  char text[64];
  bool v4 = true;
  for (int i = 0; i < 10; ++i) v4 = v4 && c.address[i] == 0;
  v4 = v4 && c.address[10] == 0xff && c.address[11] == 0xff;
  if (v4) {
    std::snprintf(text, sizeof(text), "%u.%u.%u.%u/%d", c.address[12], c.address[13],
                  c.address[14], c.address[15], c.prefix_bits - 96);
    return text;
  }
  std::string out;
  for (int i = 0; i < 16; i += 2) {
    std::snprintf(text, sizeof(text), "%s%x", i ? ":" : "", (c.address[i] << 8) | c.address[i + 1]);
    out += text;
  }
  return out + "/" + std::to_string(c.prefix_bits);
}

json upstream_json(const Upstream& u) {
  json targets = json::array();
  for (const Target& t : u.targets) {
    targets.push_back({{"address", t.address.to_string()}, {"weight", t.weight}});
  }
  json retry_on = json::array();
  for (RetryOn r : u.retries.on) retry_on.push_back(retry_name(r));
  json out = {
      {"targets", targets},
      {"scheme", u.scheme},
      {"balance", balance_name(u.balance)},
      {"timeouts",
       {{"connect", format_duration(u.timeouts.connect)},
        {"response_header", format_duration(u.timeouts.response_header)},
        {"idle", format_duration(u.timeouts.idle)}}},
      {"keepalive",
       {{"max_idle_per_worker", u.keepalive.max_idle_per_worker},
        {"idle_timeout", format_duration(u.keepalive.idle_timeout)}}},
      {"retries", {{"attempts", u.retries.attempts}, {"on", retry_on}}},
  };
  return out;
}

json route_json(const Route& r, bool redact) {
  json headers = json::object();
  for (const auto& [name, value] : r.headers) headers[name] = value;
  json out = {
      {"name", r.name},         {"hosts", r.hosts},       {"methods", r.methods},
      {"paths", r.paths},       {"headers", headers},     {"upstream", r.upstream},
      {"strip_prefix", r.strip_prefix}, {"plugins", plugins_json(r.plugins, redact)},
  };
  // Absent rather than null: the loader reads `regex: null` as a regex with no value.
  if (r.regex) out["regex"] = *r.regex;
  if (r.timeout) out["timeout"] = format_duration(*r.timeout);
  return out;
}

}  // namespace

std::string format_duration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  struct Unit {
    int64_t ms;
    const char* name;
  };
  for (Unit u : {Unit{3600000, "h"}, Unit{60000, "m"}, Unit{1000, "s"}, Unit{1, "ms"}}) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + u.name;
      ms %= u.ms;
    }
  }
  return out;
}

json workers_json(int workers) { return workers == 0 ? json("auto") : json(workers); }

json to_json(const std::vector<Listener>& listeners) {
  json out = json::array();
  for (const Listener& l : listeners) {
    json item = {{"name", l.name}, {"address", l.address.to_string()}};
    if (l.tls) {
      json certificates = json::array();
      for (const TlsCertificate& c : l.tls->certificates) {
        certificates.push_back({{"cert", c.cert}, {"key", c.key}});  // paths, not secrets
      }
      item["tls"] = {{"certificates", certificates},
                     {"min_version", l.tls->min_version == 13 ? "1.3" : "1.2"},
                     {"alpn", l.tls->alpn}};
    }
    out.push_back(std::move(item));
  }
  return out;
}

json to_json(const Config& c, bool redact) {
  json listeners = to_json(c.server.listeners);
  json trusted = json::array();
  for (const Cidr& cidr : c.server.trusted_proxies) trusted.push_back(cidr_text(cidr));
  json server = {
      {"workers", workers_json(c.server.workers)},
      {"listeners", listeners},
      {"limits",
       {{"max_header_bytes", c.server.limits.max_header_bytes},
        {"max_body_bytes", c.server.limits.max_body_bytes},
        {"header_timeout", format_duration(c.server.limits.header_timeout)},
        {"idle_timeout", format_duration(c.server.limits.idle_timeout)},
        {"max_connections", c.server.limits.max_connections}}},
      {"drain_timeout", format_duration(c.server.drain_timeout)},
      {"trusted_proxies", trusted},
  };
  json admin = json::object();
  if (c.admin.address) admin["address"] = c.admin.address->to_string();
  if (!c.admin.token.empty()) {
    admin["token"] = redact ? json(std::string(kRedacted)) : json(c.admin.token);
  }

  json tracing = json::object();
  if (c.tracing.otlp) {
    tracing["otlp"] = {{"endpoint", c.tracing.otlp->endpoint},
                       {"sample_ratio", c.tracing.otlp->sample_ratio},
                       {"service_name", c.tracing.otlp->service_name}};
  }
  json upstreams = json::object();
  for (const auto& [name, u] : c.upstreams) {
    // Inline URLs and builtins are defined by the routes that name them: listing them here
    // would not load back (their names are not upstream names).
    if (u.inline_url || u.kind == UpstreamKind::kBuiltinEcho) continue;
    upstreams[name] = upstream_json(u);
  }
  json consumers = json::array();
  for (const Consumer& consumer : c.consumers) {
    json keys = json::array();
    for (const std::string& k : consumer.keys) keys.push_back(redact ? std::string(kRedacted) : k);
    consumers.push_back({{"name", consumer.name}, {"keys", keys}, {"groups", consumer.groups}});
  }
  json routes = json::array();
  for (const Route& r : c.routes) routes.push_back(route_json(r, redact));

  return {
      {"server", server},
      {"admin", admin},
      {"logging",
       {{"level", c.logging.level},
        {"access_log", {{"path", c.logging.access_log.path}, {"format", c.logging.access_log.format}}}}},
      {"tracing", tracing},
      {"upstreams", upstreams},
      {"consumers", consumers},
      {"plugins", plugins_json(c.plugins, redact)},
      {"routes", routes},
  };
}

std::string canonical_hash(const Config& config) {
  // nlohmann::json objects keep their keys sorted, so dump() is canonical.
  std::string text = to_json(config, false).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string format_cidr(const Cidr& cidr) { return cidr_text(cidr); }

}  // namespace turnpike::config
