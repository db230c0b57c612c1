// rate_limit plugin configuration (SPEC §3): `limit` per `window`, `burst`, what a request is
// counted under (`key`), the policy, and the bound on the keys one route tracks (`max_keys`).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::rate_limit {

enum class KeyKind : uint8_t { kIp, kConsumer, kRoute, kHeader, kGlobal };

struct Config final : config::PluginConfig {
  uint64_t limit = 0;
  config::Duration window{0};
  uint64_t burst = 0;  // written or, by default, `limit`
  KeyKind key = KeyKind::kConsumer;
  std::string header;  // key: header:NAME
  uint64_t max_keys = 65536;

  // The limiter's size: one key for `route` and `global`.
  uint64_t keys() const { return key == KeyKind::kRoute || key == KeyKind::kGlobal ? 1 : max_keys; }
  bool equals(const config::PluginConfig& other) const override;
  nlohmann::json to_json(bool redact) const override;
};

// `policy: redis` (and a `redis:` block) is refused: this build has the local policy only.
std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::rate_limit
