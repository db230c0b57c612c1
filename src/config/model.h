// The configuration model: plain structs produced by the YAML loader (loader.h) and consumed by
// the snapshot builder. Nothing here knows about sockets or YAML; defaults live here, in one place.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace turnpike::config {

using Duration = std::chrono::milliseconds;

// What GET /config shows in place of a secret; the loader reads it back as "keep the running
// value" (LoadOptions::running), so that a dumped configuration loads back unchanged.
inline constexpr std::string_view kRedacted = "***";

// One configuration error: the YAML path of the offending node and what is wrong with it,
// e.g. {"routes[2].upstream", "unknown upstream \"users\""}.
struct ConfigError {
  std::string path;
  std::string message;
  friend bool operator==(const ConfigError&, const ConfigError&) = default;
};

// host:port as written; `host` is an IP literal for listeners ("" = all addresses), an IP literal
// or a DNS name for upstream targets. IPv6 literals are stored without brackets.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string to_string() const;  // "127.0.0.1:80", "[::1]:80"
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// An IPv4 or IPv6 network: 16 address bytes (IPv4 mapped into ::ffff:0:0/96) and a prefix length
// counted on those 16 bytes.
struct Cidr {
  std::array<uint8_t, 16> address{};
  int prefix_bits = 0;
  bool contains(const std::array<uint8_t, 16>& ip) const;
  friend bool operator==(const Cidr&, const Cidr&) = default;
};

struct Limits {
  uint64_t max_header_bytes = 32 * 1024;
  uint64_t max_body_bytes = 10 * 1024 * 1024;
  Duration header_timeout = std::chrono::seconds(10);
  Duration idle_timeout = std::chrono::seconds(60);
  uint64_t max_connections = 100000;
  friend bool operator==(const Limits&, const Limits&) = default;
};

// A certificate chain and its private key, as PEM files.
struct TlsCertificate {
  std::string cert;
  std::string key;
  friend bool operator==(const TlsCertificate&, const TlsCertificate&) = default;
};

// TLS termination on a listener (SPEC §2). Unlike the listener's address, it changes on a reload.
struct ListenerTls {
  std::vector<TlsCertificate> certificates;  // chosen by SNI; the first is the default
  int min_version = 12;                      // 12 = TLS 1.2, 13 = TLS 1.3
  std::vector<std::string> alpn{"http/1.1"};
  friend bool operator==(const ListenerTls&, const ListenerTls&) = default;
};

struct Listener {
  std::string name;
  HostPort address;
  std::optional<ListenerTls> tls;
  friend bool operator==(const Listener&, const Listener&) = default;
};

struct Server {
  int workers = 0;  // 0 = auto (one per CPU)
  std::vector<Listener> listeners;
  Limits limits;
  Duration drain_timeout = std::chrono::seconds(30);
  std::vector<Cidr> trusted_proxies;
  friend bool operator==(const Server&, const Server&) = default;
};

struct Admin {
  std::optional<HostPort> address;  // absent: no admin listener
  std::string token;                // empty: no token
  friend bool operator==(const Admin&, const Admin&) = default;
};

struct AccessLog {
  std::string path = "stdout";  // stdout | stderr | off | a file path
  std::string format = "json";
  friend bool operator==(const AccessLog&, const AccessLog&) = default;
};

struct Logging {
  std::string level = "info";  // debug | info | warn | error
  AccessLog access_log;
  friend bool operator==(const Logging&, const Logging&) = default;
};

struct Otlp {
  std::string endpoint;  // http://host:port/path
  double sample_ratio = 1.0;
  std::string service_name = "turnpike";
  friend bool operator==(const Otlp&, const Otlp&) = default;
};

struct Tracing {
  std::optional<Otlp> otlp;
  friend bool operator==(const Tracing&, const Tracing&) = default;
};

struct Target {
  HostPort address;
  uint32_t weight = 1;
  friend bool operator==(const Target&, const Target&) = default;
};

struct UpstreamTimeouts {
  Duration connect = std::chrono::seconds(5);
  Duration response_header = std::chrono::seconds(60);
  Duration idle = std::chrono::seconds(60);  // no byte from the upstream for this long: 504
  friend bool operator==(const UpstreamTimeouts&, const UpstreamTimeouts&) = default;
};

struct Keepalive {
  uint32_t max_idle_per_worker = 64;
  Duration idle_timeout = std::chrono::seconds(60);
  friend bool operator==(const Keepalive&, const Keepalive&) = default;
};

// What a failed attempt may be retried on.
enum class RetryOn : uint8_t { kConnectFailure, k502, k503, k504 };

struct Retries {
  uint32_t attempts = 0;  // extra attempts after the first; 0 = no retry
  std::vector<RetryOn> on{RetryOn::kConnectFailure};
  friend bool operator==(const Retries&, const Retries&) = default;
};

enum class UpstreamKind : uint8_t {
  kTargets,      // a named group, or an inline URL (http://host:port[/base])
  kBuiltinEcho,  // builtin:echo: answers with the request it received, as JSON
};

// How a group picks a target (SPEC §2 `balance`).
enum class Balance : uint8_t { kRoundRobin, kLeastConn, kP2cEwma, kConsistentHash, kRandom };
inline constexpr std::string_view kBalanceNames[] = {"round_robin", "least_conn", "p2c_ewma",
                                                     "consistent_hash", "random"};
inline std::string_view balance_name(Balance b) { return kBalanceNames[static_cast<int>(b)]; }

struct Upstream {
  std::string name;  // the key under `upstreams`, or the inline URL / builtin name itself
  UpstreamKind kind = UpstreamKind::kTargets;
  bool inline_url = false;    // defined by a route's `upstream: http://...`
  std::string base_path;      // inline URL path ("/base"), prepended to the forwarded path
  std::vector<Target> targets;
  std::string scheme = "http";
  Balance balance = Balance::kRoundRobin;
  UpstreamTimeouts timeouts;
  Keepalive keepalive;
  Retries retries;
  friend bool operator==(const Upstream&, const Upstream&) = default;
};

// A plugin's parsed, validated configuration. Each plugin derives its own immutable config type;
// the catalog (config/plugin_catalog.h) turns YAML blocks into these.
struct PluginConfig {
  virtual ~PluginConfig() = default;
  // Equal configs let runtime state survive a reload.
  virtual bool equals(const PluginConfig& other) const = 0;
  // The config as JSON for the admin API; secrets become "***" when `redact`.
  virtual nlohmann::json to_json(bool redact) const = 0;
};

struct PluginEntry {
  std::string name;  // as registered, e.g. "access_log"
  std::shared_ptr<const PluginConfig> config;
  friend bool operator==(const PluginEntry& a, const PluginEntry& b) {
    return a.name == b.name && a.config && b.config && a.config->equals(*b.config);
  }
};

struct Consumer {
  std::string name;
  std::vector<std::string> keys;
  std::vector<std::string> groups;
  friend bool operator==(const Consumer&, const Consumer&) = default;
};

struct Route {
  std::string name;
  std::vector<std::string> hosts;    // lower-cased; "*.example.com" wildcards; IP literals
                                     // without brackets ("10.0.0.1", "::1")
  std::vector<std::string> methods;  // upper-cased; empty = any
  std::vector<std::string> paths;    // patterns, see routing/pattern.h
  std::optional<std::string> regex;  // RE2 syntax, matched against the normalized path
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, exact values
  std::string upstream;  // a key of Config::upstreams (inline URLs are entered there too)
  bool strip_prefix = false;
  std::optional<Duration> timeout;
  std::vector<PluginEntry> plugins;  // in the order written; the phase order is fixed elsewhere
  friend bool operator==(const Route&, const Route&) = default;
};

struct Config {
  Server server;
  Admin admin;
  Logging logging;
  Tracing tracing;
  std::map<std::string, Upstream> upstreams;  // named groups, inline URLs and builtins
  std::vector<Consumer> consumers;
  std::vector<PluginEntry> plugins;  // global
  std::vector<Route> routes;
};

}  // namespace turnpike::config
