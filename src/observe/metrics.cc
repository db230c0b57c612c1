// Metric counters, aggregation and the Prometheus text format (see metrics.h).
#include "observe/metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace turnpike::observe {

uint32_t IdRegistry::id(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto [it, added] = ids_.try_emplace(name, static_cast<uint32_t>(names_.size()));
  if (added) names_.push_back(name);
  return it->second;
}

std::string IdRegistry::name(uint32_t id) const {
  std::lock_guard lock(mutex_);
  return id < names_.size() ? names_[id] : std::string();
}

std::size_t IdRegistry::size() const {
  std::lock_guard lock(mutex_);
  return names_.size();
}

IdRegistry& route_ids() {
  static IdRegistry* registry = [] {
    auto* r = new IdRegistry();
    r->id("");  // id 0: no route matched
    return r;
  }();
  return *registry;
}

IdRegistry& upstream_ids() {
  static IdRegistry registry;
  return registry;
}

IdRegistry& target_ids() {
  static IdRegistry registry;
  return registry;
}

void Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;
  ++counts[i];
  sum += seconds;
  ++count;
}

void Histogram::merge(const Histogram& other) {
  for (std::size_t i = 0; i < counts.size(); ++i) counts[i] += other.counts[i];
  sum += other.sum;
  count += other.count;
}

double Histogram::quantile(double q) const {
  if (count == 0) return 0;
  double rank = q * static_cast<double>(count);
  uint64_t seen = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    double lower = i == 0 ? 0 : kBuckets[i - 1];
    double upper = i < kBuckets.size() ? kBuckets[i] : kBuckets.back();
    if (static_cast<double>(seen + counts[i]) >= rank) {
      // Linear interpolation inside the bucket, as Prometheus' histogram_quantile does.
      double within = (rank - static_cast<double>(seen)) / static_cast<double>(counts[i]);
      return lower + (upper - lower) * std::clamp(within, 0.0, 1.0);
    }
    seen += counts[i];
  }
  return kBuckets.back();
}

Method method_label(std::string_view m) {
  if (m == "GET") return Method::kGet;
  if (m == "POST") return Method::kPost;
  if (m == "HEAD") return Method::kHead;
  if (m == "PUT") return Method::kPut;
  if (m == "DELETE") return Method::kDelete;
  if (m == "PATCH") return Method::kPatch;
  if (m == "OPTIONS") return Method::kOptions;
  return Method::kOther;
}

std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kPatch: return "PATCH";
    case Method::kOptions: return "OPTIONS";
    default: return "OTHER";
  }
}

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kSuccess: return "success";
    case Outcome::kStatus5xx: return "http_5xx";
    case Outcome::kConnectError: return "connect_error";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kReset: return "reset";
    case Outcome::kInvalidResponse: return "invalid_response";
    default: return "unknown";
  }
}

void RouteCounters::count(Method method, uint16_t status) {
  for (Entry& e : requests) {
    if (e.status == status && e.method == method) {
      ++e.count;
      return;
    }
  }
  requests.push_back({status, method, 1});
}

TlsCounters& WorkerMetrics::tls(const std::string& listener) {
  for (TlsCounters& t : tls_) {
    if (t.listener == listener) return t;
  }
  tls_.push_back({listener});
  return tls_.back();
}

void WorkerMetrics::merge(const WorkerMetrics& other) {
  for (const TlsCounters& from : other.tls_) {
    TlsCounters& to = tls(from.listener);
    to.full += from.full;
    to.resumed += from.resumed;
    to.failed += from.failed;
  }
  for (uint32_t id = 0; id < other.routes_.size(); ++id) {
    const RouteCounters& from = other.routes_[id];
    RouteCounters& to = route(id);
    for (const auto& e : from.requests) {
      bool found = false;
      for (auto& mine : to.requests) {
        if (mine.status == e.status && mine.method == e.method) {
          mine.count += e.count;
          found = true;
          break;
        }
      }
      if (!found) to.requests.push_back(e);
    }
    to.duration.merge(from.duration);
    to.rate_limited += from.rate_limited;
  }
  for (uint32_t id = 0; id < other.upstreams_.size(); ++id) {
    upstream(id).duration.merge(other.upstreams_[id].duration);
  }
  for (uint32_t id = 0; id < other.targets_.size(); ++id) {
    const TargetCounters& from = other.targets_[id];
    TargetCounters& to = target(id);
    for (std::size_t o = 0; o < from.outcomes.size(); ++o) to.outcomes[o] += from.outcomes[o];
    to.active += from.active;
    to.idle += from.idle;
  }
}

namespace {

std::string label(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '"';
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.17g", v);
  return text;
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void histogram(std::string& out, const char* name, const std::string& labels, const Histogram& h) {
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < h.counts.size(); ++i) {
    cumulative += h.counts[i];
    char bound[16];
    std::snprintf(bound, sizeof(bound), "%g", i < kBuckets.size() ? kBuckets[i] : 0.0);
    std::string le = i < kBuckets.size() ? bound : "+Inf";
    out += std::string(name) + "_bucket{" + labels + ",le=\"" + le + "\"} " +
           std::to_string(cumulative) + '\n';
  }
  out += std::string(name) + "_sum{" + labels + "} " + number(h.sum) + '\n';
  out += std::string(name) + "_count{" + labels + "} " + std::to_string(h.count) + '\n';
}

// Splits a target id's name ("upstream\naddress").
std::pair<std::string, std::string> target_name(uint32_t id) {
  std::string key = target_ids().name(id);
  std::size_t nl = key.find('\n');
  if (nl == std::string::npos) return {key, ""};
  return {key.substr(0, nl), key.substr(nl + 1)};
}

void process_metrics(std::string& out) {
  long ticks = ::sysconf(_SC_CLK_TCK);
  long page = ::sysconf(_SC_PAGESIZE);
  std::ifstream stat("/proc/self/stat");
  std::string line;
  std::getline(stat, line);
  // Fields after the command name, which is in parentheses and may hold spaces.
  std::size_t close = line.rfind(')');
  std::istringstream fields(close == std::string::npos ? "" : line.substr(close + 2));
  std::vector<std::string> f;
  for (std::string v; fields >> v;) f.push_back(v);
  // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22, vsize 23, rss 24.
  auto field = [&](int n) { return n - 3 < static_cast<int>(f.size()) ? std::stod(f[n - 3]) : 0.0; };
  double cpu = (field(14) + field(15)) / static_cast<double>(ticks);
  double start_ticks = field(22);
  double vsize = field(23);
  double rss = field(24) * static_cast<double>(page);
  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string l; std::getline(proc_stat, l);) {
    if (l.rfind("btime ", 0) == 0) boot_time = std::stod(l.substr(6));
  }
  int open_fds = 0;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(dir)) open_fds += e->d_name[0] != '.';
    ::closedir(dir);
  }
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);

  header(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.");
  out += "process_cpu_seconds_total " + number(cpu) + '\n';
  header(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out += "process_resident_memory_bytes " + number(rss) + '\n';
  header(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out += "process_virtual_memory_bytes " + number(vsize) + '\n';
  header(out, "process_open_fds", "gauge", "Number of open file descriptors.");
  out += "process_open_fds " + std::to_string(open_fds) + '\n';
  header(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
  out += "process_max_fds " + number(static_cast<double>(limit.rlim_cur)) + '\n';
  header(out, "process_start_time_seconds", "gauge",
         "Start time of the process since unix epoch in seconds.");
  out += "process_start_time_seconds " +
         number(boot_time + start_ticks / static_cast<double>(ticks)) + '\n';
}

}  // namespace

std::string render_prometheus(const WorkerMetrics& m, const ProcessGauges& g) {
  std::string out;
  out.reserve(16 * 1024);

  header(out, "turnpike_http_requests_total", "counter",
         "Requests answered, by route (\"\" when none matched), method and status.");
  for (uint32_t id = 0; id < m.routes().size(); ++id) {
    std::string route = "route=" + label(route_ids().name(id));
    for (const auto& e : m.routes()[id].requests) {
      out += "turnpike_http_requests_total{" + route + ",method=" + label(method_name(e.method)) +
             ",status=\"" + std::to_string(e.status) + "\"} " + std::to_string(e.count) + '\n';
    }
  }
  header(out, "turnpike_http_request_duration_seconds", "histogram",
         "Time from the request's first byte to its last response byte, by route.");
  for (uint32_t id = 0; id < m.routes().size(); ++id) {
    const RouteCounters& r = m.routes()[id];
    if (r.duration.count == 0) continue;
    histogram(out, "turnpike_http_request_duration_seconds",
              "route=" + label(route_ids().name(id)), r.duration);
  }
  header(out, "turnpike_rate_limited_total", "counter", "Requests refused with 429, by route.");
  for (const std::string& route : g.routes) {
    uint32_t id = route_ids().id(route);
    uint64_t n = id < m.routes().size() ? m.routes()[id].rate_limited : 0;
    out += "turnpike_rate_limited_total{route=" + label(route) + "} " + std::to_string(n) + '\n';
  }
  header(out, "turnpike_upstream_request_duration_seconds", "histogram",
         "Time from sending a request upstream to its last response byte, by upstream.");
  for (uint32_t id = 0; id < m.upstreams().size(); ++id) {
    const UpstreamCounters& u = m.upstreams()[id];
    if (u.duration.count == 0) continue;
    histogram(out, "turnpike_upstream_request_duration_seconds",
              "upstream=" + label(upstream_ids().name(id)), u.duration);
  }
  header(out, "turnpike_upstream_requests_total", "counter",
         "Upstream attempts, by upstream, target and outcome.");
  for (uint32_t id = 0; id < m.targets().size(); ++id) {
    const TargetCounters& t = m.targets()[id];
    auto [upstream, address] = target_name(id);
    for (std::size_t o = 0; o < t.outcomes.size(); ++o) {
      if (t.outcomes[o] == 0) continue;
      out += "turnpike_upstream_requests_total{upstream=" + label(upstream) +
             ",target=" + label(address) +
             ",outcome=" + label(outcome_name(static_cast<Outcome>(o))) + "} " +
             std::to_string(t.outcomes[o]) + '\n';
    }
  }
  header(out, "turnpike_active_connections", "gauge", "Client connections open now.");
  out += "turnpike_active_connections " + std::to_string(g.active_connections) + '\n';

  std::string connections, healthy, circuit;
  for (const auto& [upstream, targets] : g.upstreams) {
    int64_t active = 0, idle = 0;
    for (const std::string& address : targets) {
      uint32_t id = target_ids().id(upstream + '\n' + address);
      if (id < m.targets().size()) {
        active += m.targets()[id].active;
        idle += m.targets()[id].idle;
      }
      std::string labels = "{upstream=" + label(upstream) + ",target=" + label(address) + "} ";
      healthy += "turnpike_upstream_target_healthy" + labels + "1\n";
      circuit += "turnpike_circuit_breaker_state" + labels + "0\n";
    }
    connections += "turnpike_upstream_connections{upstream=" + label(upstream) +
                   ",state=\"active\"} " + std::to_string(active) + '\n';
    connections += "turnpike_upstream_connections{upstream=" + label(upstream) +
                   ",state=\"idle\"} " + std::to_string(idle) + '\n';
  }
  header(out, "turnpike_upstream_connections", "gauge",
         "Upstream connections by upstream and state (active: carrying a request; idle: pooled).");
  out += connections;
  header(out, "turnpike_upstream_target_healthy", "gauge",
         "1 when the target is in rotation (no health checks yet: every target is).");
  out += healthy;
  header(out, "turnpike_circuit_breaker_state", "gauge",
         "Circuit state per target: 0 closed, 1 half-open, 2 open (no breaker yet: always 0).");
  out += circuit;

  header(out, "turnpike_tls_handshakes_total", "counter",
         "TLS handshakes by listener and result (success: full; resumed: a session resumed; "
         "failure: the connection ended before the handshake completed).");
  for (const TlsCounters& t : m.tls()) {
    std::string l = "turnpike_tls_handshakes_total{listener=" + label(t.listener) + ",result=";
    out += l + "\"success\"} " + std::to_string(t.full) + '\n';
    out += l + "\"resumed\"} " + std::to_string(t.resumed) + '\n';
    out += l + "\"failure\"} " + std::to_string(t.failed) + '\n';
  }
  header(out, "turnpike_tls_certificate_expiry_timestamp_seconds", "gauge",
         "When each served certificate expires (Unix time), by listener and certificate name.");
  for (const ProcessGauges::Certificate& c : g.certificates) {
    out += "turnpike_tls_certificate_expiry_timestamp_seconds{listener=" + label(c.listener) +
           ",name=" + label(c.name) + "} " + std::to_string(c.not_after) + '\n';
  }

  header(out, "turnpike_jwt_key_refreshes_total", "counter",
         "Remote jwt key fetches (jwks_url, oidc_discovery) by result; a failure keeps the last "
         "good keys.");
  out += "turnpike_jwt_key_refreshes_total{result=\"success\"} " +
         std::to_string(g.jwt_key_refreshes_success) + '\n';
  out += "turnpike_jwt_key_refreshes_total{result=\"failure\"} " +
         std::to_string(g.jwt_key_refreshes_failure) + '\n';

  header(out, "turnpike_config_reloads_total", "counter",
         "Configuration reload attempts by result (one attempt counts once).");
  out += "turnpike_config_reloads_total{result=\"success\"} " + std::to_string(g.reloads_success) + '\n';
  out += "turnpike_config_reloads_total{result=\"failure\"} " + std::to_string(g.reloads_failure) + '\n';
  header(out, "turnpike_config_generation", "gauge", "Generation of the running configuration.");
  out += "turnpike_config_generation " + std::to_string(g.generation) + '\n';
  header(out, "turnpike_build_info", "gauge", "Build information; the value is always 1.");
  out += "turnpike_build_info{version=" + label(g.version) + "} 1\n";
  header(out, "turnpike_log_dropped_total", "counter",
         "Access log lines dropped because the log writer fell behind.");
  out += "turnpike_log_dropped_total " + std::to_string(g.log_dropped) + '\n';
  header(out, "turnpike_trace_spans_dropped_total", "counter",
         "Trace spans dropped because the exporter fell behind or failed.");
  out += "turnpike_trace_spans_dropped_total " + std::to_string(g.spans_dropped) + '\n';
  process_metrics(out);
  return out;
}

}  // namespace turnpike::observe
