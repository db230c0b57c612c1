// key_auth plugin (SPEC §3): the request's API key, from the first of the configured sources
// that is present, names its consumer; without a key, or with a key no consumer holds, 401.
// The key is forwarded as it came (SPEC asks for no stripping; the upstream may want it).
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include "config/model.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::key_auth {

std::shared_ptr<const Plugin> make(const config::PluginConfig& config);

// The first value of query parameter `name` in `query` (the part after '?'), percent-decoded
// ('+' read as a space, as HTML forms send it) into `arena` when it has escapes; nullopt when
// the parameter is absent.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name,
                                            Arena& arena);

}  // namespace turnpike::plugins::key_auth
