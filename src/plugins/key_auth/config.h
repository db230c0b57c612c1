// key_auth plugin configuration: `sources`, where a request's API key is looked for
// (`header:NAME`, `query:NAME`), in order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::key_auth {

struct Source {
  enum class Kind : uint8_t { kHeader, kQuery };
  Kind kind = Kind::kHeader;
  std::string name;          // the header field or the query parameter
  std::string text() const;  // as written: "header:X-API-Key"
  friend bool operator==(const Source&, const Source&) = default;
};

struct Config final : config::PluginConfig {
  // The first source present names the key; SPEC §3's example is the default.
  std::vector<Source> sources{{Source::Kind::kHeader, "X-API-Key"},
                              {Source::Kind::kQuery, "apikey"}};
  bool equals(const config::PluginConfig& other) const override;
  nlohmann::json to_json(bool redact) const override;
};

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::key_auth
