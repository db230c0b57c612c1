#include "config/plugin_catalog.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

namespace turnpike::config {
namespace {

// Kong's (and Tyk's) names for the plugins SPEC §3 defines, so that a configuration carried over
// from them gets pointed at the right name.
constexpr std::pair<std::string_view, std::string_view> kForeignNames[] = {
    {"rate-limiting", "rate_limit"},
    {"rate-limiting-advanced", "rate_limit"},
    {"key-auth", "key_auth"},
    {"ip-restriction", "ip_restriction"},
    {"request-size-limiting", "request_size"},
    {"request-transformer", "headers"},
    {"response-transformer", "headers"},
    {"file-log", "access_log"},
    {"http-log", "access_log"},
};

// The name meant by an unknown plugin name: Kong's name for it, or a close spelling
// (with '-' read as '_'). Empty when nothing is close.
std::string nearest_plugin(std::string_view name, const std::vector<std::string>& candidates) {
  for (const auto& [foreign, ours] : kForeignNames) {
    if (name == foreign) return std::string(ours);
  }
  std::string underscored(name);
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  return closest_match(underscored, candidates);
}

// Replaces each "***" scalar under `node` with the string at the same place in `running` (a
// running plugin's unredacted to_json). YAML nodes are handles: this edits the document the
// plugin's Reader reads. A "***" with nothing to keep stays, for the plugin to refuse.
void keep_redacted(YAML::Node node, const nlohmann::json& running) {
  if (node.IsMap()) {
    if (!running.is_object()) return;
    for (auto it = node.begin(); it != node.end(); ++it) {
      std::string key = it->first.Scalar();
      auto kept = running.find(key);
      if (kept == running.end()) continue;
      YAML::Node child = it->second;
      if (child.IsScalar() && child.Scalar() == kRedacted) {
        if (kept->is_string() && !kept->get<std::string>().empty()) {
          child = kept->get<std::string>();
        }
      } else {
        keep_redacted(child, *kept);
      }
    }
  } else if (node.IsSequence() && running.is_array()) {
    for (std::size_t i = 0; i < node.size() && i < running.size(); ++i) {
      YAML::Node child = node[i];
      if (child.IsScalar() && child.Scalar() == kRedacted) {
        if (running[i].is_string() && !running[i].get<std::string>().empty()) {
          child = running[i].get<std::string>();
        }
      } else {
        keep_redacted(child, running[i]);
      }
    }
  }
}

}  // namespace

void PluginCatalog::add(std::string name, ParseFn parse) {
  parsers_[std::move(name)] = std::move(parse);
}

bool PluginCatalog::contains(std::string_view name) const {
  return parsers_.find(name) != parsers_.end();
}

std::vector<std::string> PluginCatalog::names() const {
  std::vector<std::string> out;
  for (const auto& [name, parse] : parsers_) out.push_back(name);
  return out;
}

const std::vector<std::string>& PluginCatalog::spec_names() {
  static const std::vector<std::string> kNames = {
      "ip_restriction", "cors",         "key_auth", "jwt",       "acl",
      "rate_limit",     "request_size", "headers",  "access_log"};
  return kNames;
}

std::vector<PluginEntry> PluginCatalog::parse(const Reader& plugins,
                                              const std::vector<PluginEntry>* running) const {
  std::vector<PluginEntry> out;
  auto blocks = plugins.entries();
  if (!blocks) return out;
  for (const auto& [name, block] : *blocks) {
    auto parser = parsers_.find(name);
    if (parser == parsers_.end()) {
      const std::vector<std::string>& spec = spec_names();
      if (std::find(spec.begin(), spec.end(), name) != spec.end()) {
        block.error("plugin \"" + name + "\" is not available in this build yet");
      } else {
        std::vector<std::string> candidates = names();
        candidates.insert(candidates.end(), spec.begin(), spec.end());
        std::string nearest = nearest_plugin(name, candidates);
        std::string hint;
        if (!nearest.empty()) {
          hint = " (did you mean \"" + nearest + "\"?" +
                 (contains(nearest) ? "" : " It is not available in this build yet.") + ")";
        }
        block.error("unknown plugin \"" + name + "\"" + hint);
      }
      continue;
    }
    if (running) {
      for (const PluginEntry& before : *running) {
        if (before.name == name && before.config) {
          keep_redacted(block.node(), before.config->to_json(false));
        }
      }
    }
    std::shared_ptr<const PluginConfig> config;
    try {
      config = parser->second(block);
    } catch (const std::exception& e) {
      block.error(std::string("invalid configuration: ") + e.what());
      continue;
    }
    if (config == nullptr) {
      // The contract is to record why; make sure a null never passes as success.
      if (!block.has_errors()) block.error("invalid configuration");
      continue;
    }
    out.push_back({name, std::move(config)});
  }
  return out;
}

}  // namespace turnpike::config
