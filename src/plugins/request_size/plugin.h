// request_size plugin (SPEC §3): the route's own body limit; over it, 413. A declared length is
// refused before any byte is read; a chunked body is cut when it passes the limit.
#pragma once

#include <memory>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::request_size {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

}  // namespace turnpike::plugins::request_size
