// ip_restriction plugin (SPEC §3): 403 for a client address denied, or not allowed.
#pragma once

#include <memory>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::ip_restriction {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

}  // namespace turnpike::plugins::ip_restriction
