// Router lookup cost at 10, 1,000 and 100,000 routes (SPEC §2.1: it must stay flat), on a
// realistic mix of static prefixes, parameters, `**`, a few hosts and a few regex routes.
//   BM_RouterMatch/N:     256 distinct requests, the hot set of a real gateway: the CPU cost
//                         of a lookup, which must not grow with N.
//   BM_RouterMatchCold/N: 16,384 distinct requests spread evenly over all N routes: with
//                         100,000 routes the tables (~25 MB) outgrow the caches, and this
//                         measures memory latency (a handful of cache misses per lookup).
#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "routing/path.h"
#include "routing/router.h"

namespace turnpike::routing {
namespace {

class NoHeaders : public HeaderSource {
 public:
  std::optional<std::string_view> get(std::string_view) const override { return std::nullopt; }
};

struct Request {
  std::string_view host;
  std::string_view path;
};

struct Fixture {
  std::vector<config::Route> routes;
  std::unique_ptr<Router> router;
  std::string text;  // the requests' bytes, back to back like a connection's read buffers
  std::vector<Request> hot;
  std::vector<Request> cold;
};

// Route i is one of eight shapes under service i/8, so every pattern is distinct.
config::Route make_route(size_t i) {
  const std::string svc = "/svc" + std::to_string(i / 8);
  config::Route route;
  route.name = "route" + std::to_string(i);
  switch (i % 8) {
    case 0:
      route.paths = {svc + "/v1/items"};
      break;
    case 1:
      route.paths = {svc + "/v1/items/{id}"};
      break;
    case 2:
      route.paths = {svc + "/v1/items/{id}/details"};
      route.methods = {"GET"};
      break;
    case 3:
      route.paths = {svc + "/v2/**"};
      route.strip_prefix = true;
      break;
    case 4:
      route.paths = {svc + "/*/status"};
      break;
    case 5:
      route.paths = {svc + "/v1/users/{user}/orders/{order}"};
      break;
    case 6:
      route.paths = {svc + "/static/assets/css/main.css"};
      break;
    case 7:
      route.paths = {svc + "/**"};
      break;
  }
  // A few hosts: an exact one, a wildcard, and most routes on any host.
  if (i % 10 == 1) route.hosts = {"api.example.com"};
  if (i % 10 == 2) route.hosts = {"*.example.com"};
  return route;
}

// A request that reaches route i's shape (or, one in eight, nothing at all).
std::pair<std::string, std::string> make_request(size_t i, std::mt19937& rng) {
  const std::string svc = "/svc" + std::to_string(i / 8);
  const std::string host = i % 10 == 1   ? "api.example.com:8443"
                           : i % 10 == 2 ? "eu.edge.example.com"
                                         : "gateway.internal";
  const std::string id = std::to_string(rng() % 100000);
  switch (i % 8) {
    case 0:
      return {host, svc + "/v1/items"};
    case 1:
      return {host, svc + "/v1/items/" + id};
    case 2:
      return {host, svc + "/v1/items/" + id + "/details"};
    case 3:
      return {host, svc + "/v2/things/" + id + "/sub"};
    case 4:
      return {host, svc + "/v9/status"};
    case 5:
      return {host, svc + "/v1/users/" + id + "/orders/" + id};
    case 6:
      return {host, svc + "/static/assets/css/main.css"};
    default:
      return {host, "/unknown/" + id + "/path"};  // 404 (after the regex set)
  }
}

const Fixture& fixture(size_t count) {
  static std::map<size_t, std::unique_ptr<Fixture>> cache;
  std::unique_ptr<Fixture>& f = cache[count];
  if (f) return *f;
  f = std::make_unique<Fixture>();
  for (size_t i = 0; i < count; ++i) f->routes.push_back(make_route(i));
  for (const char* regex : {"^/legacy/(users|orders)/[0-9]+$", "^/v0/.*\\.json$", "^/rpc/"}) {
    config::Route route;
    route.name = regex;
    route.regex = regex;
    f->routes.push_back(route);
  }
  std::vector<config::ConfigError> errors;
  f->router = Router::build(f->routes, errors);
  if (!f->router) std::abort();
  std::mt19937 rng(42);
  std::vector<std::pair<std::string, std::string>> hot;
  std::vector<std::pair<std::string, std::string>> cold;
  for (int r = 0; r < 256; ++r) hot.push_back(make_request(rng() % count, rng));
  for (int r = 0; r < 16384; ++r) cold.push_back(make_request(rng() % count, rng));
  for (const auto* set : {&hot, &cold}) {
    for (const auto& [host, path] : *set) f->text += host + path;
  }
  size_t at = 0;
  for (auto [set, out] : {std::pair{&hot, &f->hot}, std::pair{&cold, &f->cold}}) {
    for (const auto& [host, path] : *set) {
      const std::string_view bytes(f->text.data() + at, host.size() + path.size());
      out->push_back({bytes.substr(0, host.size()), bytes.substr(host.size())});
      at += bytes.size();
    }
  }
  return *f;
}

void run_lookups(benchmark::State& state, const Fixture& f, const std::vector<Request>& requests) {
  const NoHeaders headers;
  size_t next = 0;
  size_t found = 0;
  for (auto _ : state) {
    const Request& request = requests[next];
    next = next + 1 == requests.size() ? 0 : next + 1;
    const RouteMatch match = f.router->match({"GET", request.host, request.path, &headers});
    found += match.status == 200;
    benchmark::DoNotOptimize(match.route);
  }
  state.counters["hit_ratio"] =
      static_cast<double>(found) / static_cast<double>(state.iterations());
}

void BM_RouterMatch(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  run_lookups(state, f, f.hot);
}
BENCHMARK(BM_RouterMatch)->Arg(10)->Arg(1000)->Arg(100000);

void BM_RouterMatchCold(benchmark::State& state) {
  const Fixture& f = fixture(static_cast<size_t>(state.range(0)));
  run_lookups(state, f, f.cold);
}
BENCHMARK(BM_RouterMatchCold)->Arg(10)->Arg(1000)->Arg(100000);

void BM_NormalizePath(benchmark::State& state) {
  const std::string raw = "/api/v1/users/%7Ejohn/./orders//12345/../67890/details";
  std::string out;
  out.reserve(raw.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(normalize_path(raw, out));
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_NormalizePath);

}  // namespace
}  // namespace turnpike::routing

BENCHMARK_MAIN();
