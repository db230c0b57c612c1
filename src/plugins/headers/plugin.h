// headers plugin (SPEC §3): request edits (set/add/remove) on the way upstream, response edits
// on every response of the route, the gateway's own answers included.
#pragma once

#include <memory>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::headers {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

}  // namespace turnpike::plugins::headers
