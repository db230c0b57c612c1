// Which plugins run for a route, and in what order. The order is one list (kOrder), with the
// reason for each place beside it; a route's chain is built once per configuration, its plugin
// objects carried over from the previous snapshot when their configuration is unchanged.
#pragma once

#include <iterator>
#include <memory>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/plugin_catalog.h"
#include "plugins/plugin.h"

namespace turnpike::plugins {

enum class Phase : uint8_t { kRequest, kResponse, kLog };

struct Step {
  std::string_view name;
  Phase phase;
  std::string_view reason;
};

// SPEC §3: every plugin's place. Plugins not built yet keep their place so that the order never
// changes when they arrive. `headers` stands twice: its request edits go last before the
// upstream, its response edits first after it.
inline constexpr Step kOrder[] = {
    {"request_id", Phase::kRequest, "every later step, log line and error answer carries the request's id"},
    {"ip_restriction", Phase::kRequest, "cheapest refusal, decided by the peer address alone"},
    {"cors", Phase::kRequest, "a preflight is answered before credentials are asked for"},
    {"key_auth", Phase::kRequest, "authentication names the consumer that acl and rate_limit use"},
    {"jwt", Phase::kRequest, "authentication names the consumer that acl and rate_limit use"},
    {"acl", Phase::kRequest, "needs the consumer; refuses before any quota is spent"},
    {"rate_limit", Phase::kRequest, "counts only requests that are allowed to reach the upstream"},
    {"request_size", Phase::kRequest, "checked before the body is streamed upstream"},
    {"headers", Phase::kRequest, "request headers are rewritten last, just before the upstream"},
    {"cors", Phase::kResponse, "CORS headers go on every response, the gateway's refusals included"},
    {"rate_limit", Phase::kResponse, "RateLimit-* on every response, refusals included"},
    {"headers", Phase::kResponse, "response edits come after every other plugin's, so they win"},
    {"access_log", Phase::kLog, "runs after the response, so it sees the final status"},
};
static_assert(std::size(kOrder) <= Context::kSlots, "a chain's plugins each need a slot");

// One plugin of a route: its configuration and the object built from it. The link keeps the
// configuration alive for as long as the plugin, which may refer to it.
struct Link {
  config::PluginEntry entry;
  std::shared_ptr<const Plugin> plugin;  // null for plugins with no phase code (access_log)
};

// A route's plugins: the global entries, each replaced by the route's own entry of the same
// name, in kOrder.
struct Chain {
  std::vector<Link> links;                  // one per plugin, in order of first appearance
  std::vector<const Plugin*> request;       // the request phase, in kOrder
  std::vector<const Plugin*> response;      // the response phase, in kOrder
  bool access_log = true;  // false: the route's requests write no access log line

  bool empty() const { return request.empty() && response.empty(); }
  // The request phase, in order, from plugin `from`: the first verdict that is not "continue"
  // ends it. A kWait verdict says which plugin waits (`waiting`); after its wait() continued,
  // the phase goes on from the plugin after it.
  Verdict run_request(Context& c, std::size_t from = 0, std::size_t* waiting = nullptr) const;
  // The response phase, in order, for c.status.
  void run_response(Context& c) const;
  // The log phase: every plugin once, in the order they act.
  void run_log(const Context& c) const;
  // The plugin names in the order they act (each once), for /routes/explain.
  std::vector<std::string_view> names() const;
};

// Builds a route's chain. A plugin whose entry equals the one `previous` has under the same name
// is not rebuilt: the same object (and whatever state it keeps) serves the new snapshot.
Chain build_chain(const config::Config& config, const config::Route& route,
                  const Chain* previous);

// Registers every plugin this build has with the configuration loader.
void register_plugins(config::PluginCatalog& catalog);

}  // namespace turnpike::plugins
