// YAML (or JSON) text -> config::Config, validated. Every error carries its YAML path, and all
// errors are reported at once.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace turnpike::config {

class PluginCatalog;

struct LoadOptions {
  // Plugins known to this build; null: any `plugins:` entry is an error.
  const PluginCatalog* plugins = nullptr;
  // Why a route path pattern is invalid, or "" when it is valid: the router's own parser, given
  // by the layer that builds routers, so that a route's pattern errors are reported with every
  // other error of the file. Unset: only the leading '/' is checked here, the rest when the
  // router is built (after the loader found nothing else wrong).
  std::function<std::string(std::string_view)> path_pattern_error;
  // ${NAME} lookup; unset: the process environment.
  std::function<std::optional<std::string>(const std::string&)> env;
  // The configuration running now, if any. A secret written as "***" (as GET /config shows
  // it) keeps this configuration's value, so that a dumped configuration loads back; without
  // one, "***" is an error.
  const Config* running = nullptr;
  // Names the text in YAML syntax errors ("gateway.yaml:3:9: ..."); load_file sets the file.
  std::string source = "config";
};

struct LoadResult {
  std::optional<Config> config;  // set iff errors is empty
  std::vector<ConfigError> errors;
};

LoadResult load_string(std::string_view text, const LoadOptions& options = {});
// Read errors are reported with path "config", e.g. "config: cannot read /x.yaml: No such file".
LoadResult load_file(const std::string& file, const LoadOptions& options = {});

// One "PATH: message" line per error, in order.
std::string format_errors(const std::vector<ConfigError>& errors);

}  // namespace turnpike::config
