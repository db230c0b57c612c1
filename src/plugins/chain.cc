// Plugin chains and registration (see chain.h).
#include "plugins/chain.h"

#include <algorithm>

#include "plugins/access_log/config.h"

namespace turnpike::plugins {

Chain resolve_chain(const config::Config& config, const config::Route& route) {
  Chain chain;
  for (const Step& step : kOrder) {
    auto named = [&](const config::PluginEntry& e) { return e.name == step.name; };
    auto own = std::find_if(route.plugins.begin(), route.plugins.end(), named);
    if (own != route.plugins.end()) {
      chain.entries.push_back(*own);
      continue;
    }
    auto global = std::find_if(config.plugins.begin(), config.plugins.end(), named);
    if (global != config.plugins.end()) chain.entries.push_back(*global);
  }
  for (const config::PluginEntry& e : chain.entries) {
    if (e.name == "access_log") {
      chain.access_log = static_cast<const access_log::Config&>(*e.config).enabled;
    }
  }
  return chain;
}

void register_plugins(config::PluginCatalog& catalog) {
  catalog.add("access_log", access_log::parse);
}

}  // namespace turnpike::plugins
