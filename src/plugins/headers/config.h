// headers plugin configuration: `request` and `response`, each {set, add, remove}, checked at
// load so that no edit can reach the framing or smuggle a line into a head.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::headers {

struct Edits {
  std::vector<std::pair<std::string, std::string>> set;  // replaces every field of the name
  std::vector<std::pair<std::string, std::string>> add;  // one more field, others kept
  std::vector<std::string> remove;
  friend bool operator==(const Edits&, const Edits&) = default;
};

struct Config final : config::PluginConfig {
  Edits request;   // upstream-bound
  Edits response;  // client-bound, on every response of the route
  bool equals(const config::PluginConfig& other) const override;
  // With `redact`, the values of credential fields (Authorization, Cookie, *-Key, *Token*,
  // *Secret*) are "***": a gateway often adds the upstream's credentials here.
  nlohmann::json to_json(bool redact) const override;
};

// Names must be tokens that no edit may touch (see plugins::protected_header); values must not
// hold control characters other than HTAB (no CR/LF injection).
std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

// Records at `at` why `name` cannot be written into a request or response head (not a token, or
// a field no edit may touch); true when it can. Shared with plugins that set fields (jwt).
bool check_header_name(const config::Reader& at, const std::string& name);

}  // namespace turnpike::plugins::headers
