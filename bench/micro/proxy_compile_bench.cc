// Configuration reload cost at 10,000 routes: YAML parse + validation, then compilation of the
// snapshot (router, upstream groups, per-route runtime) and its publication.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>

#include "config/loader.h"
#include "proxy/snapshot.h"

namespace {

std::string config_text(int routes) {
  std::string text =
      "upstreams:\n  origin:\n    targets: [{address: \"127.0.0.1:9\"}]\nroutes:\n";
  for (int i = 0; i < routes; ++i) {
    std::string path;
    switch (i % 4) {
      case 0: path = "/svc" + std::to_string(i) + "/v1/**"; break;
      case 1: path = "/api/" + std::to_string(i) + "/users/{id}"; break;
      case 2: path = "/files/" + std::to_string(i) + "/*/meta"; break;
      default: path = "/exact/" + std::to_string(i);
    }
    text += "  - name: r" + std::to_string(i) + "\n    paths: [\"" + path + "\"]\n";
    if (i % 10 == 0) text += "    hosts: [\"h" + std::to_string(i % 50) + ".example.com\"]\n";
    text += "    upstream: origin\n";
  }
  return text;
}

void BM_Parse(benchmark::State& state) {
  std::string text = config_text(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    auto loaded = turnpike::config::load_string(text);
    if (!loaded.config) state.SkipWithError("config rejected");
    benchmark::DoNotOptimize(loaded);
  }
}

void BM_CompileAndSwap(benchmark::State& state) {
  auto loaded = turnpike::config::load_string(config_text(static_cast<int>(state.range(0))));
  auto config = std::make_shared<const turnpike::config::Config>(std::move(*loaded.config));
  turnpike::proxy::SnapshotCell cell;
  uint64_t generation = 1;
  for (auto _ : state) {
    std::vector<turnpike::config::ConfigError> errors;
    auto snapshot = turnpike::proxy::build_snapshot(config, 1, ++generation, nullptr, errors);
    if (!snapshot) state.SkipWithError("snapshot not built");
    cell.publish(std::move(snapshot));
  }
}

BENCHMARK(BM_Parse)->Arg(10000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CompileAndSwap)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
