// cors plugin (SPEC §3): a preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// answered 204 by the gateway and never forwarded; every other response to an allowed origin,
// the gateway's own errors included, carries the CORS response headers.
#pragma once

#include <memory>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::cors {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

}  // namespace turnpike::plugins::cors
