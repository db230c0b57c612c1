// access_log plugin configuration (see config.h).
#include "plugins/access_log/config.h"

#include <nlohmann/json.hpp>

namespace turnpike::plugins::access_log {

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->enabled == enabled;
}

nlohmann::json Config::to_json(bool) const { return {{"enabled", enabled}}; }

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (block.is_null()) return out;  // `access_log: {}` or `access_log:`: the defaults
  if (!block.expect_map({"enabled"})) return nullptr;
  if (auto enabled = block.child("enabled").boolean()) out->enabled = *enabled;
  if (block.has_errors()) return nullptr;
  return out;
}

}  // namespace turnpike::plugins::access_log
