// Metrics (SPEC §7). Each worker counts into its own WorkerMetrics with plain integers: no lock,
// no atomic, no shared cache line on the request path. A scrape asks every worker for a copy (a
// task posted to its loop), sums the copies on the control thread and renders Prometheus text.
//
// Label values are bounded: routes, upstreams and targets are identified by ids issued from the
// configuration's names (IdRegistry), methods are a closed set, statuses are 100..599.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace turnpike::observe {

// Dense ids for names that come from the configuration, stable across reloads (a route keeps
// its counters when the file changes around it). Thread-safe; used when snapshots are built and
// when metrics are rendered, never per request.
class IdRegistry {
 public:
  uint32_t id(const std::string& name);
  std::string name(uint32_t id) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
};

IdRegistry& route_ids();     // id 0 is "" (requests that matched no route)
IdRegistry& upstream_ids();
IdRegistry& target_ids();    // key: upstream name + '\n' + target address

// Latency buckets, in seconds (upper bounds; +Inf is implicit).
inline constexpr std::array<double, 14> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1,    2.5,   5,
                                                    10,    30};

struct Histogram {
  std::array<uint64_t, kBuckets.size() + 1> counts{};  // per bucket (not cumulative); last: +Inf
  double sum = 0;
  uint64_t count = 0;
  void observe(double seconds);
  void merge(const Histogram& other);
  // The q-quantile (0..1) estimated from the buckets; 0 when empty.
  double quantile(double q) const;
};

// HTTP method as a label: a closed set, so a client cannot grow the label space.
enum class Method : uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther, kCount };
Method method_label(std::string_view method);
std::string_view method_name(Method m);

// How one upstream attempt ended.
enum class Outcome : uint8_t {
  kSuccess,        // a response below 500
  kStatus5xx,      // a 5xx response
  kConnectError,   // refused or unreachable
  kTimeout,        // connect, response-header or idle timeout
  kReset,          // closed or reset mid-exchange
  kInvalidResponse,
  kCount
};
std::string_view outcome_name(Outcome o);

struct RouteCounters {
  struct Entry {
    uint16_t status;
    Method method;
    uint64_t count;
  };
  std::vector<Entry> requests;  // few distinct (method, status) pairs per route: a flat list
  Histogram duration;
  uint64_t rate_limited = 0;
  void count(Method method, uint16_t status);
};

struct TargetCounters {
  std::array<uint64_t, static_cast<std::size_t>(Outcome::kCount)> outcomes{};
  int64_t active = 0;  // connections carrying a request now
  int64_t idle = 0;    // pooled (filled in when a copy is taken)
};

struct UpstreamCounters {
  Histogram duration;
};

// TLS handshakes on one listener, by result.
struct TlsCounters {
  std::string listener;
  uint64_t full = 0;     // completed with a full handshake
  uint64_t resumed = 0;  // completed by resuming a session
  uint64_t failed = 0;   // the connection ended before the handshake completed
};

class WorkerMetrics {
 public:
  RouteCounters& route(uint32_t id) { return at(routes_, id); }
  TlsCounters& tls(const std::string& listener);
  const std::vector<TlsCounters>& tls() const { return tls_; }
  UpstreamCounters& upstream(uint32_t id) { return at(upstreams_, id); }
  TargetCounters& target(uint32_t id) { return at(targets_, id); }

  const std::vector<RouteCounters>& routes() const { return routes_; }
  const std::vector<UpstreamCounters>& upstreams() const { return upstreams_; }
  const std::vector<TargetCounters>& targets() const { return targets_; }

  void merge(const WorkerMetrics& other);

 private:
  template <typename T>
  static T& at(std::vector<T>& v, uint32_t id) {
    if (id >= v.size()) v.resize(id + 1);
    return v[id];
  }
  std::vector<RouteCounters> routes_;
  std::vector<UpstreamCounters> upstreams_;
  std::vector<TargetCounters> targets_;
  std::vector<TlsCounters> tls_;  // a few listeners: found by name
};

// What only the control thread knows, rendered next to the summed worker metrics.
struct ProcessGauges {
  int64_t active_connections = 0;
  uint64_t generation = 0;
  uint64_t reloads_success = 0;
  uint64_t reloads_failure = 0;
  uint64_t log_dropped = 0;
  uint64_t spans_dropped = 0;
  uint64_t jwt_key_refreshes_success = 0;  // remote JWKS fetches (jwks_url, oidc_discovery)
  uint64_t jwt_key_refreshes_failure = 0;
  std::string version;
  // Names to render (route names of the running config, upstream -> its targets).
  std::vector<std::string> routes;
  std::vector<std::pair<std::string, std::vector<std::string>>> upstreams;
  struct Certificate {
    std::string listener;
    std::string name;
    int64_t not_after = 0;  // Unix time
  };
  std::vector<Certificate> certificates;  // of the TLS listeners, one row per name
};

// Prometheus text exposition format 0.0.4, including the standard process_* metrics.
std::string render_prometheus(const WorkerMetrics& sum, const ProcessGauges& gauges);

}  // namespace turnpike::observe
