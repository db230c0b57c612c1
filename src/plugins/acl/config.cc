// acl configuration (see config.h).
#include "plugins/acl/config.h"

#include <nlohmann/json.hpp>

namespace turnpike::plugins::acl {

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->allow_groups == allow_groups && o->deny_groups == deny_groups;
}

nlohmann::json Config::to_json(bool) const {
  return {{"allow_groups", allow_groups}, {"deny_groups", deny_groups}};
}

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map({"allow_groups", "deny_groups"})) return nullptr;
  if (auto allow = block.child("allow_groups").string_list()) out->allow_groups = *allow;
  if (auto deny = block.child("deny_groups").string_list()) out->deny_groups = *deny;
  if (block.has_errors()) return nullptr;
  if (out->allow_groups.empty() && out->deny_groups.empty()) {
    block.error("allow_groups or deny_groups is required");
    return nullptr;
  }
  return out;
}

}  // namespace turnpike::plugins::acl
