// Admin API endpoints (see api.h).
#include "admin/api.h"

#include <openssl/crypto.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "config/json.h"
#include "routing/path.h"
#include "routing/router.h"

namespace turnpike::admin {
namespace {

using nlohmann::json;

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  // Strings from the network may not be UTF-8: replaced, never thrown about.
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Response error(int status, std::string_view code, std::string_view message) {
  return json_response(status, {{"error", code}, {"message", message}});
}

json errors_json(const std::vector<config::ConfigError>& errors) {
  json out = json::array();
  for (const auto& e : errors) out.push_back({{"path", e.path}, {"message", e.message}});
  return out;
}

// Request headers given to /routes/explain as ?header.Name=value.
class QueryHeaders final : public routing::HeaderSource {
 public:
  explicit QueryHeaders(const std::map<std::string, std::string>& query) {
    for (const auto& [key, value] : query) {
      if (key.rfind("header.", 0) != 0) continue;
      std::string name = key.substr(7);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      headers_.emplace_back(std::move(name), value);
    }
  }
  std::optional<std::string_view> get(std::string_view lower_name) const override {
    for (const auto& [name, value] : headers_) {
      if (name == lower_name) return value;
    }
    return std::nullopt;
  }

 private:
  std::vector<std::pair<std::string, std::string>> headers_;
};

std::vector<std::string> plugin_names(const proxy::RouteRuntime& route) {
  std::vector<std::string> names;
  for (std::string_view name : route.plugins.names()) names.emplace_back(name);
  return names;
}

}  // namespace

bool Api::authorized(const Request& request) const {
  const std::string& token = control_.running().snapshot->config->admin.token;
  if (token.empty()) return true;
  std::string expected = "Bearer " + token;
  std::string given = request.header("authorization");
  return given.size() == expected.size() &&
         CRYPTO_memcmp(given.data(), expected.data(), given.size()) == 0;
}

net::Task<Response> Api::handle(const Request& r) {
  // Probes never ask for the token.
  if (r.path == "/health") {
    co_return json_response(200, {{"status", "ok"}});
  }
  if (r.path == "/ready") {
    bool ready = control_.ready();
    co_return json_response(ready ? 200 : 503, {{"status", ready ? "ready" : "not_ready"}});
  }
  if (!authorized(r)) {
    Response denied = error(401, "unauthorized", "missing or invalid admin token");
    denied.headers.emplace_back("WWW-Authenticate", "Bearer");
    co_return denied;
  }
  auto method_not_allowed = [](const char* allow) {
    Response out = error(405, "method_not_allowed", "method not allowed");
    out.headers.emplace_back("Allow", allow);
    return out;
  };
  if (r.path == "/metrics") {
    if (r.method != "GET") co_return method_not_allowed("GET");
    co_return co_await metrics();
  }
  if (r.path == "/health/metrics") {
    if (r.method != "GET") co_return method_not_allowed("GET");
    co_return co_await health_metrics();
  }
  if (r.path == "/config") {
    if (r.method == "GET") co_return config_get();
    if (r.method == "POST") co_return config_post(r, false);
    co_return method_not_allowed("GET, POST");
  }
  if (r.path == "/config/validate") {
    if (r.method != "POST") co_return method_not_allowed("POST");
    co_return config_post(r, true);
  }
  if (r.path == "/routes") {
    if (r.method != "GET") co_return method_not_allowed("GET");
    co_return routes();
  }
  if (r.path == "/routes/explain") {
    if (r.method != "GET") co_return method_not_allowed("GET");
    co_return explain(r);
  }
  if (r.path == "/upstreams") {
    if (r.method != "GET") co_return method_not_allowed("GET");
    co_return co_await upstreams();
  }
  co_return error(404, "not_found", "no such admin endpoint");
}

net::Task<Response> Api::metrics() {
  observe::WorkerMetrics sum = co_await control_.gather_metrics();
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = observe::render_prometheus(sum, control_.gauges());
  co_return r;
}

net::Task<Response> Api::health_metrics() {
  observe::WorkerMetrics sum = co_await control_.gather_metrics();
  observe::ProcessGauges gauges = control_.gauges();
  Control::Running running = control_.running();
  uint64_t total = 0;
  json routes = json::array();
  auto route_json = [&](const std::string& name) {
    uint32_t id = observe::route_ids().id(name);
    observe::RouteCounters counters;
    if (id < sum.routes().size()) counters = sum.routes()[id];
    json statuses = json::object();
    uint64_t requests = 0;
    for (const auto& e : counters.requests) {
      requests += e.count;
      statuses[std::to_string(e.status)] =
          statuses.value(std::to_string(e.status), uint64_t{0}) + e.count;
    }
    total += requests;
    auto ms = [&](double q) { return std::round(counters.duration.quantile(q) * 1e6) / 1e3; };
    return json{{"route", name},
                {"requests", requests},
                {"statuses", statuses},
                {"latency_ms", {{"p50", ms(0.5)}, {"p90", ms(0.9)}, {"p99", ms(0.99)}}}};
  };
  for (const auto& route : running.snapshot->config->routes) routes.push_back(route_json(route.name));
  json unmatched = route_json("");
  json upstreams = json::array();
  for (const auto& [name, group] : running.snapshot->groups) {
    json targets = json::array();
    for (const auto& t : group->targets()) {
      targets.push_back({{"address", t.address}, {"healthy", true}, {"circuit", "closed"}});
    }
    upstreams.push_back({{"upstream", name}, {"targets", targets}});
  }
  co_return json_response(200, {{"uptime_seconds", std::round(control_.uptime_seconds() * 1000) / 1000},
                                {"generation", running.snapshot->generation},
                                {"requests", total},
                                {"active_connections", gauges.active_connections},
                                {"routes", routes},
                                {"unmatched", unmatched},
                                {"upstreams", upstreams}});
}

Response Api::config_get() const {
  Control::Running running = control_.running();
  json restart_required = json::array();
  json pending = json::object();
  for (const auto& p : running.pending) {
    restart_required.push_back(p.key);
    pending[p.key] = p.wanted;
  }
  return json_response(200, {{"generation", running.snapshot->generation},
                             {"hash", running.hash},
                             {"config", config::to_json(*running.snapshot->config, true)},
                             {"restart_required", restart_required},
                             {"pending", pending}});
}

Response Api::config_post(const Request& request, bool dry_run) {
  Control::Applied applied = control_.apply(request.body, dry_run);
  if (!applied.errors.empty()) return json_response(400, {{"errors", errors_json(applied.errors)}});
  if (dry_run) return json_response(200, {{"valid", true}, {"errors", json::array()}});
  return json_response(200, {{"generation", applied.generation}});
}

Response Api::routes() const {
  Control::Running running = control_.running();
  json list = json::array();
  for (const auto& runtime : running.snapshot->routes) {
    json route = config::to_json(*running.snapshot->config, true)["routes"][list.size()];
    route["plugins"] = plugin_names(runtime);
    list.push_back(std::move(route));
  }
  return json_response(200, {{"generation", running.snapshot->generation}, {"routes", list}});
}

net::Task<Response> Api::upstreams() {
  observe::WorkerMetrics sum = co_await control_.gather_metrics();
  Control::Running running = control_.running();
  json list = json::array();
  for (const auto& [name, spec] : running.snapshot->config->upstreams) {
    json entry = {{"name", name}};
    if (spec.kind == config::UpstreamKind::kBuiltinEcho) {
      entry["builtin"] = "echo";
      list.push_back(entry);
      continue;
    }
    json targets = json::array();
    auto group = running.snapshot->groups.find(name);
    if (group != running.snapshot->groups.end()) {
      for (const auto& t : group->second->targets()) {
        observe::TargetCounters counters;
        if (t.pool_id < sum.targets().size()) counters = sum.targets()[t.pool_id];
        targets.push_back({{"address", t.address},
                           {"weight", t.weight},
                           {"healthy", true},
                           {"circuit", "closed"},
                           {"active_connections", counters.active},
                           {"idle_connections", counters.idle}});
      }
    }
    entry["balance"] = spec.balance;
    entry["targets"] = targets;
    list.push_back(std::move(entry));
  }
  co_return json_response(200, {{"generation", running.snapshot->generation}, {"upstreams", list}});
}

Response Api::explain(const Request& request) const {
  auto query = [&](const char* key, const char* fallback) {
    auto it = request.query.find(key);
    return it == request.query.end() ? std::string(fallback) : it->second;
  };
  std::string method = query("method", "GET");
  std::string host = query("host", "");
  std::string raw_path = query("path", "/");
  std::string path;
  routing::PathStatus status = routing::normalize_path(raw_path, path);
  if (status != routing::PathStatus::kOk) {
    return error(400, "bad_request", std::string("path: ") + routing::to_string(status));
  }
  Control::Running running = control_.running();
  QueryHeaders headers(request.query);
  routing::Explanation e = running.snapshot->router->explain({method, host, path, &headers});
  json candidates = json::array();
  for (const auto& c : e.candidates) candidates.push_back({{"route", c.route}, {"reason", c.reason}});
  json out = {{"status", e.match.status},
              {"path", path},
              {"candidates", candidates},
              {"plugins", json::array()}};
  if (e.match.status == 200) {
    const proxy::RouteRuntime& route = running.snapshot->routes[e.match.route];
    out["route"] = route.spec->name;
    out["plugins"] = plugin_names(route);
    out["upstream"] = route.spec->upstream;
  } else {
    out["route"] = nullptr;
    if (e.match.status == 405) out["allow"] = e.match.allow;
  }
  return json_response(200, out);
}

}  // namespace turnpike::admin
