// jwt plugin configuration (SPEC §3): where the keys come from, which algorithms, issuers,
// audiences and scopes are accepted, where the token is looked for and what is forwarded.
// Keys are read and checked at load, so a configuration with an unusable key never runs.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/model.h"
#include "config/reader.h"
#include "plugins/jwt/jose.h"

namespace turnpike::plugins::jwt {

struct TokenSource {
  enum class Kind : uint8_t { kHeader, kCookie, kQuery };
  Kind kind = Kind::kHeader;
  std::string name;
  friend bool operator==(const TokenSource&, const TokenSource&) = default;
};

// A file's identity and age: a change of any of them is a change of the file.
struct FileStamp {
  uint64_t device = 0, inode = 0, size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

struct Config final : config::PluginConfig {
  std::vector<std::string> issuers;    // empty: any `iss`
  std::vector<std::string> audiences;  // empty: any `aud`
  uint32_t algorithms = 0;             // a bit per Alg (alg_bit)
  std::string secret;                  // decoded when secret_base64
  bool secret_base64 = false;
  std::string public_key_file;
  std::string public_key_pem;  // its content, read at load
  std::string jwks_file;
  FileStamp jwks_stamp;  // of the content read at load
  std::string jwks_url;        // keys fetched from here,
  std::string oidc_discovery;  // or from the jwks_uri of this issuer's OpenID configuration
  std::chrono::milliseconds jwks_refresh{std::chrono::minutes(5)};
  std::vector<std::string> required_scopes;
  int64_t leeway_seconds = 0;
  std::vector<std::pair<std::string, std::string>> forward_claims;  // claim -> header name
  std::vector<TokenSource> token_sources;
  std::string consumer_claim;  // empty: none

  std::vector<Key> static_keys;  // from secret and public_key_file
  std::vector<Key> jwks_keys;    // from jwks_file as read at load (re-read when it changes)

  bool equals(const config::PluginConfig& other) const override;
  // With `redact`, `secret` is "***".
  nlohmann::json to_json(bool redact) const override;
};

// The OpenID configuration document of `oidc_discovery`: the issuer URL with
// "/.well-known/openid-configuration" appended, or the URL itself when it already names one.
std::string discovery_document_url(const std::string& oidc_discovery);

// A file's stamp; false when it cannot be read.
bool stamp_file(const std::string& path, FileStamp& out);

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block);

}  // namespace turnpike::plugins::jwt
