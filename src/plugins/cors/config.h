// cors plugin configuration: allowed origins, methods, request headers, exposed headers,
// credentials and the preflight's max age.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::cors {

struct Config final : config::PluginConfig {
  std::vector<std::string> origins;  // "scheme://host[:port]", "null", or "*" for any
  std::vector<std::string> methods = {"GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS"};
  std::vector<std::string> headers;  // empty: the preflight's requested headers are allowed
  std::vector<std::string> expose_headers;
  bool credentials = false;
  std::optional<config::Duration> max_age;  // unset: no Access-Control-Max-Age
  bool equals(const config::PluginConfig& other) const override;
  nlohmann::json to_json(bool redact) const override;
};

// Every entry ends up in a response header, so each is checked for its form here: origins
// without a path (a browser never sends one), methods and header names as RFC 9110 tokens.
std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::cors
