// ip_restriction configuration (see config.h).
#include "plugins/ip_restriction/config.h"

#include <nlohmann/json.hpp>

#include "config/json.h"

namespace turnpike::plugins::ip_restriction {
namespace {

nlohmann::json cidrs_json(const std::vector<config::Cidr>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const config::Cidr& c : list) out.push_back(config::format_cidr(c));
  return out;
}

}  // namespace

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->allow == allow && o->deny == deny;
}

nlohmann::json Config::to_json(bool) const {
  return {{"allow", cidrs_json(allow)}, {"deny", cidrs_json(deny)}};
}

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map({"allow", "deny"})) return nullptr;
  if (auto allow = block.child("allow").cidr_list()) out->allow = *allow;
  if (auto deny = block.child("deny").cidr_list()) out->deny = *deny;
  if (block.has_errors()) return nullptr;
  if (out->allow.empty() && out->deny.empty()) {
    block.error("allow or deny is required");
    return nullptr;
  }
  return out;
}

}  // namespace turnpike::plugins::ip_restriction
