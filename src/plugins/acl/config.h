// acl plugin configuration: `allow_groups` / `deny_groups`, the consumer groups (SPEC §2
// `consumers[].groups`) let through or refused.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::acl {

struct Config final : config::PluginConfig {
  std::vector<std::string> allow_groups;  // empty: every consumer not denied
  std::vector<std::string> deny_groups;
  bool equals(const config::PluginConfig& other) const override;
  nlohmann::json to_json(bool redact) const override;
};

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::acl
