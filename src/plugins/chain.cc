// Plugin chains and registration (see chain.h).
#include "plugins/chain.h"

#include <algorithm>

#include "plugins/access_log/config.h"
#include "plugins/acl/config.h"
#include "plugins/acl/plugin.h"
#include "plugins/cors/config.h"
#include "plugins/cors/plugin.h"
#include "plugins/headers/config.h"
#include "plugins/headers/plugin.h"
#include "plugins/ip_restriction/config.h"
#include "plugins/ip_restriction/plugin.h"
#include "plugins/jwt/config.h"
#include "plugins/jwt/plugin.h"
#include "plugins/key_auth/config.h"
#include "plugins/key_auth/plugin.h"
#include "plugins/rate_limit/config.h"
#include "plugins/rate_limit/plugin.h"
#include "plugins/request_size/config.h"
#include "plugins/request_size/plugin.h"

namespace turnpike::plugins {
namespace {

using Parse = std::shared_ptr<const config::PluginConfig> (*)(const config::Reader&);
using Make = std::shared_ptr<const Plugin> (*)(const config::PluginConfig&);

struct Registration {
  std::string_view name;
  Parse parse;
  Make make;  // null: the plugin has no phase code
};

// Every plugin this build has: how its block is parsed, and how its object is made.
const Registration kPlugins[] = {
    {"access_log", access_log::parse, nullptr},
    {"ip_restriction", ip_restriction::parse, ip_restriction::make},
    {"cors", cors::parse, cors::make},
    {"key_auth", key_auth::parse, key_auth::make},
    {"acl", acl::parse, acl::make},
    {"jwt", jwt::parse, jwt::make},
    {"rate_limit", rate_limit::parse, rate_limit::make},
    {"request_size", request_size::parse, request_size::make},
    {"headers", headers::parse, headers::make},
};

const Registration* registration(std::string_view name) {
  for (const Registration& r : kPlugins) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const config::PluginEntry* entry_for(const config::Config& config, const config::Route& route,
                                     std::string_view name) {
  auto named = [&](const config::PluginEntry& e) { return e.name == name; };
  auto own = std::find_if(route.plugins.begin(), route.plugins.end(), named);
  if (own != route.plugins.end()) return &*own;
  auto global = std::find_if(config.plugins.begin(), config.plugins.end(), named);
  return global != config.plugins.end() ? &*global : nullptr;
}

// The link for `entry`: the previous snapshot's when its config is equal (the same plugin
// object, and the config it was made from, which it refers to), else a new one.
Link carried_or_made(const config::PluginEntry& entry, const Chain* previous) {
  if (previous) {
    for (const Link& old : previous->links) {
      if (old.entry.name == entry.name && old.entry.config->equals(*entry.config)) return old;
    }
  }
  const Registration* r = registration(entry.name);
  return {entry, r && r->make ? r->make(*entry.config) : nullptr};
}

}  // namespace

Verdict Chain::run_request(Context& c, std::size_t from, std::size_t* waiting) const {
  for (std::size_t i = from; i < request.size(); ++i) {
    Verdict v = request[i]->on_request(c);
    if (v.kind == Verdict::Kind::kContinue) continue;
    if (waiting) *waiting = i;
    return v;
  }
  return Verdict::next();
}

void Chain::run_response(Context& c) const {
  for (const Plugin* plugin : response) plugin->on_response(c);
}

void Chain::run_log(const Context& c) const {
  for (const Link& link : links) {
    if (link.plugin) link.plugin->on_log(c);
  }
}

std::vector<std::string_view> Chain::names() const {
  std::vector<std::string_view> out;
  for (const Link& link : links) out.push_back(link.entry.name);
  return out;
}

Chain build_chain(const config::Config& config, const config::Route& route,
                  const Chain* previous) {
  Chain chain;
  for (const Step& step : kOrder) {
    const config::PluginEntry* entry = entry_for(config, route, step.name);
    if (!entry) continue;
    auto link = std::find_if(chain.links.begin(), chain.links.end(),
                             [&](const Link& l) { return l.entry.name == step.name; });
    if (link == chain.links.end()) {
      chain.links.push_back(carried_or_made(*entry, previous));
      link = chain.links.end() - 1;
    }
    if (step.phase == Phase::kLog && step.name == "access_log") {
      chain.access_log = static_cast<const access_log::Config&>(*entry->config).enabled;
    }
    if (!link->plugin) continue;
    if (step.phase == Phase::kRequest) chain.request.push_back(link->plugin.get());
    if (step.phase == Phase::kResponse) chain.response.push_back(link->plugin.get());
  }
  return chain;
}

void register_plugins(config::PluginCatalog& catalog) {
  for (const Registration& r : kPlugins) catalog.add(std::string(r.name), r.parse);
}

}  // namespace turnpike::plugins
