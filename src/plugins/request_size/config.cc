// request_size configuration (see config.h).
#include "plugins/request_size/config.h"

#include <nlohmann/json.hpp>

namespace turnpike::plugins::request_size {

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->max_body_bytes == max_body_bytes;
}

nlohmann::json Config::to_json(bool) const { return {{"max_body_bytes", max_body_bytes}}; }

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map({"max_body_bytes"})) return nullptr;
  if (auto max = block.required("max_body_bytes").bytes(1)) out->max_body_bytes = *max;
  if (block.has_errors()) return nullptr;
  return out;
}

}  // namespace turnpike::plugins::request_size
