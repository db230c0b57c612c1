// ip_restriction plugin configuration: `allow` / `deny` CIDR lists (IPv4 and IPv6).
#pragma once

#include <memory>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::ip_restriction {

struct Config final : config::PluginConfig {
  std::vector<config::Cidr> allow;  // empty: every address not denied
  std::vector<config::Cidr> deny;
  bool equals(const config::PluginConfig& other) const override;
  nlohmann::json to_json(bool redact) const override;
};

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::ip_restriction
