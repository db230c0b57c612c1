// access_log plugin: `access_log: {enabled: false}` on a route silences its access log lines.
#pragma once

#include <memory>

#include "config/model.h"
#include "config/plugin_catalog.h"

namespace turnpike::plugins::access_log {

struct Config final : config::PluginConfig {
  bool enabled = true;
  bool equals(const config::PluginConfig& other) const override;
  nlohmann::json to_json(bool redact) const override;
};

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::access_log
