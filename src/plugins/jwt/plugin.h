// jwt plugin (SPEC §3): a bearer token found in a header, cookie or query parameter, verified
// against the configured keys, its claims checked (exp/nbf/iat with leeway, iss, aud, scopes).
// 401 with `WWW-Authenticate: Bearer ...` when it is missing or invalid, 403 for a missing
// scope. Verified tokens are cached per worker, so a repeated token costs a hash lookup.
#pragma once

#include <memory>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::jwt {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

}  // namespace turnpike::plugins::jwt
