// request_size plugin configuration: `max_body_bytes` for the route.
#pragma once

#include <cstdint>
#include <memory>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::request_size {

struct Config final : config::PluginConfig {
  uint64_t max_body_bytes = 0;
  bool equals(const config::PluginConfig& other) const override;
  nlohmann::json to_json(bool redact) const override;
};

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::request_size
