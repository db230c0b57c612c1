// acl plugin (SPEC §3): the consumer an authentication plugin named must be in none of
// `deny_groups` and, when `allow_groups` is given, in one of them; otherwise 403. A request
// without a consumer (a route with no authentication plugin) is refused too: an acl never lets
// an anonymous request through.
#pragma once

#include <memory>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::acl {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

}  // namespace turnpike::plugins::acl
