// Which plugins run for a route, and in what order. The order is one list (kOrder), with the
// reason for each place beside it; a route's chain is resolved once per configuration.
#pragma once

#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/plugin_catalog.h"

namespace turnpike::plugins {

struct Step {
  std::string_view name;
  std::string_view reason;
};

// SPEC §3: every plugin's phase position. Plugins not built yet keep their place so that the
// order never changes when they arrive.
inline constexpr Step kOrder[] = {
    {"request_id", "every later step, log line and error answer carries the request's id"},
    {"ip_restriction", "cheapest refusal, decided by the peer address alone"},
    {"cors", "a preflight is answered before credentials are asked for"},
    {"key_auth", "authentication names the consumer that acl and rate_limit use"},
    {"jwt", "authentication names the consumer that acl and rate_limit use"},
    {"acl", "needs the consumer; refuses before any quota is spent"},
    {"rate_limit", "counts only requests that are allowed to reach the upstream"},
    {"request_size", "checked before the body is streamed upstream"},
    {"headers", "request headers are rewritten last, just before the upstream"},
    {"access_log", "runs after the response, so it sees the final status"},
};

// A route's plugins: the global entries, each replaced by the route's own entry of the same
// name, in kOrder.
struct Chain {
  std::vector<config::PluginEntry> entries;
  bool access_log = true;  // false: the route's requests write no access log line
};

Chain resolve_chain(const config::Config& config, const config::Route& route);

// Registers every plugin this build has with the configuration loader.
void register_plugins(config::PluginCatalog& catalog);

}  // namespace turnpike::plugins
