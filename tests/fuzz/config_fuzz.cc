// Fuzz target: the configuration loader (SPEC §1, §2): YAML text -> errors, or a configuration
// whose routes compile into a router. Whatever the text, loading ends (yaml-cpp has inputs it
// never finishes: config/yaml_errors.h), and an accepted configuration can be shown as JSON
// (GET /config, its hash) and compared with the running one on a reload (restart-only settings,
// changes) without throwing. Upstream targets are not resolved here (that is DNS, not parsing).
#include <string>

#include "config/diff.h"
#include "config/json.h"
#include "config/loader.h"
#include "config/plugin_catalog.h"
#include "fuzz_check.h"
#include "plugins/chain.h"
#include "routing/pattern.h"
#include "routing/router.h"

namespace {

using namespace turnpike;
using fuzz::check;

const config::LoadOptions& options() {
  static const config::LoadOptions* built = [] {
    static config::PluginCatalog catalog;
    plugins::register_plugins(catalog);
    auto* o = new config::LoadOptions();
    o->plugins = &catalog;
    o->path_pattern_error = routing::pattern_error;
    // ${NAME}: a fixed environment, so that runs repeat.
    o->env = [](const std::string& name) -> std::optional<std::string> {
      if (name == "PORT") return "8080";
      if (name == "TOKEN") return "s3cret";
      if (name == "BYTES") return std::string("\xff\xfe", 2);
      return std::nullopt;
    };
    return o;
  }();
  return *built;
}

// What a reload compares with: the defaults, as when the file was empty at start.
const config::Config& running() {
  static const config::Config defaults = *config::load_string("").config;
  return defaults;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  config::LoadResult loaded = config::load_string(fuzz::as_text(data, size), options());
  check(loaded.config.has_value() == loaded.errors.empty(), "a configuration or its errors");
  for (const config::ConfigError& e : loaded.errors) {
    check(!e.path.empty() && !e.message.empty(), "every error has a path and a message");
  }
  if (!loaded.config) return 0;
  config::Config& config = *loaded.config;

  std::vector<config::ConfigError> errors;
  auto router = routing::Router::build(config.routes, errors);
  check((router != nullptr) == errors.empty(), "a router or its errors");

  // Strict dumps: nlohmann::json throws on text that is not UTF-8.
  (void)config::to_json(config, true).dump();
  (void)config::to_json(config, false).dump();
  (void)config::canonical_hash(config);
  (void)config::describe_changes(running(), config);
  for (const config::RestartPending& p : config::keep_restart_only(running(), config)) {
    (void)p.wanted.dump();
    (void)p.running.dump();
  }
  return 0;
}
