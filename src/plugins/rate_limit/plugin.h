// rate_limit plugin (SPEC §3), local policy: 429 `rate_limited` with Retry-After once a key
// has spent its bucket; RateLimit-Limit, -Remaining and -Reset on every response of the route.
#pragma once

#include <memory>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::rate_limit {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

}  // namespace turnpike::plugins::rate_limit
