// jwt configuration (see config.h).
#include "plugins/jwt/config.h"

#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/json.h"
#include "plugins/headers/config.h"

namespace turnpike::plugins::jwt {
namespace {

constexpr std::size_t kMinSecretBytes = 32;  // RFC 7518 §3.2: as long as SHA-256's output

std::optional<std::string> read_file(const config::Reader& at, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  if (in) text << in.rdbuf();
  if (!in || in.bad()) {
    at.error("cannot read \"" + path + "\"");
    return std::nullopt;
  }
  return text.str();
}

void read_algorithms(const config::Reader& at, Config& out) {
  auto names = at.string_list();
  if (!names) return;
  for (std::size_t i = 0; i < names->size(); ++i) {
    const std::string& name = (*names)[i];
    if (std::optional<Alg> alg = parse_alg(name)) {
      out.algorithms |= alg_bit(*alg);
    } else if (name == "none" || name == "None" || name == "NONE") {
      at.index(i).error("\"none\" is never accepted (an unsigned token proves nothing)");
    } else {
      at.index(i).error("unknown algorithm \"" + name +
                        "\" (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA)");
    }
  }
  if (names->empty()) at.error("must not be empty");
}

// A string or a list of strings (`audiences: api` or `audiences: [api, web]`).
std::vector<std::string> one_or_many(const config::Reader& at) {
  if (at.is_scalar()) {
    if (auto one = at.non_empty_string()) return {*one};
    return {};
  }
  return at.string_list().value_or(std::vector<std::string>{});
}

void read_token_sources(const config::Reader& at, Config& out) {
  auto list = at.string_list();
  if (!list) {
    if (!at.present()) out.token_sources = {{TokenSource::Kind::kHeader, "Authorization"}};
    return;
  }
  if (list->empty()) at.error("must not be empty");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string& text = (*list)[i];
    std::size_t colon = text.find(':');
    std::string kind = text.substr(0, colon);
    std::string name = colon == std::string::npos ? "" : text.substr(colon + 1);
    TokenSource source{TokenSource::Kind::kHeader, name};
    if (kind == "cookie") source.kind = TokenSource::Kind::kCookie;
    if (kind == "query") source.kind = TokenSource::Kind::kQuery;
    if ((kind != "header" && kind != "cookie" && kind != "query") || name.empty()) {
      at.index(i).error("invalid token source \"" + text +
                        "\" (header:NAME, cookie:NAME or query:NAME)");
      continue;
    }
    out.token_sources.push_back(std::move(source));
  }
}

void read_forward_claims(const config::Reader& at, Config& out) {
  auto entries = at.entries();
  if (!entries) return;
  for (const auto& [claim, value] : *entries) {
    std::optional<std::string> name = value.non_empty_string();
    if (name && headers::check_header_name(value, *name))
      out.forward_claims.emplace_back(claim, *name);
  }
}

// An absolute http:// or https:// URL with a host; false (with the error at `at`) otherwise.
bool http_url(const config::Reader& at, const std::string& url) {
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    at.error("must be an http:// or https:// URL");
    return false;
  }
  if (rest.empty() || rest.front() == '/' || url.find_first_of(" \t\r\n") != std::string::npos) {
    at.error("must be an http:// or https:// URL with a host");
    return false;
  }
  return true;
}

void read_keys(const config::Reader& block, Config& out) {
  config::Reader secret = block.child("secret");
  if (auto text = secret.non_empty_string()) {
    out.secret = *text;
    if (*text == config::kRedacted) {
      secret.error("\"***\" stands for the running secret of this route's jwt, and there is "
                   "none to keep: write the secret itself");
    } else if (out.secret_base64) {
      std::optional<std::string> bytes = base64url_decode(*text);
      if (!bytes) secret.error("not base64url (secret_base64 is true)");
      out.secret = bytes.value_or("");
    }
    if (*text != config::kRedacted && !out.secret.empty() && out.secret.size() < kMinSecretBytes) {
      secret.error("must be at least 32 bytes (RFC 7518 §3.2)");
    }
    out.static_keys.push_back(*key_from_secret(out.secret));
  }
  config::Reader pem = block.child("public_key_file");
  if (auto path = pem.non_empty_string()) {
    out.public_key_file = *path;
    if (auto text = read_file(pem, *path)) {
      out.public_key_pem = *text;
      std::string error;
      if (std::optional<Key> key = key_from_pem(*text, error)) {
        out.static_keys.push_back(std::move(*key));
      } else {
        pem.error("\"" + *path + "\": " + error);
      }
    }
  }
  config::Reader jwks = block.child("jwks_file");
  if (auto path = jwks.non_empty_string()) {
    out.jwks_file = *path;
    if (!stamp_file(*path, out.jwks_stamp)) {
      jwks.error("cannot read \"" + *path + "\"");
    } else if (auto text = read_file(jwks, *path)) {
      std::string error;
      if (auto keys = keys_from_jwks(*text, error)) {
        out.jwks_keys = std::move(*keys);
      } else {
        jwks.error("\"" + *path + "\": " + error);
      }
    }
  }
  config::Reader url = block.child("jwks_url");
  if (auto text = url.non_empty_string()) {
    if (http_url(url, *text)) out.jwks_url = *text;
  }
  config::Reader discovery = block.child("oidc_discovery");
  if (auto text = discovery.non_empty_string()) {
    if (http_url(discovery, *text)) out.oidc_discovery = *text;
  }
  if (url.present() && discovery.present()) {
    discovery.error("set jwks_url or oidc_discovery, not both");
  }
  config::Reader refresh = block.child("jwks_refresh");
  if (auto every = refresh.duration()) {
    if (!url.present() && !discovery.present()) {
      refresh.error("applies to jwks_url or oidc_discovery, and neither is set");
    } else if (*every < std::chrono::seconds(1)) {
      refresh.error("must be at least 1s");
    } else {
      out.jwks_refresh = std::chrono::duration_cast<std::chrono::milliseconds>(*every);
    }
  }
  bool remote = url.present() || discovery.present();
  if (!secret.present() && !pem.present() && !jwks.present() && !remote) {
    block.error("a key is required: secret, public_key_file, jwks_file, jwks_url or "
                "oidc_discovery");
  }
}

uint32_t algorithms_of(const std::vector<Key>& keys) {
  uint32_t bits = 0;
  for (const Key& key : keys) {
    for (int a = 0; a < kAlgCount; ++a) {
      if (key.verifies(static_cast<Alg>(a))) bits |= alg_bit(static_cast<Alg>(a));
    }
  }
  return bits;
}

nlohmann::json sources_json(const std::vector<TokenSource>& sources) {
  nlohmann::json out = nlohmann::json::array();
  for (const TokenSource& s : sources) {
    const char* kind = s.kind == TokenSource::Kind::kHeader   ? "header:"
                       : s.kind == TokenSource::Kind::kCookie ? "cookie:"
                                                              : "query:";
    out.push_back(kind + s.name);
  }
  return out;
}

}  // namespace

std::string discovery_document_url(const std::string& oidc_discovery) {
  if (oidc_discovery.empty() || oidc_discovery.find("/.well-known/") != std::string::npos) {
    return oidc_discovery;
  }
  std::string url = oidc_discovery;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url + "/.well-known/openid-configuration";
}

bool stamp_file(const std::string& path, FileStamp& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  out = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
         static_cast<uint64_t>(st.st_size),
         static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
  return true;
}

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  // jwks_file's content is not compared: the running plugin re-reads the file itself.
  return o && o->issuers == issuers && o->audiences == audiences && o->algorithms == algorithms &&
         o->secret == secret && o->secret_base64 == secret_base64 &&
         o->public_key_file == public_key_file && o->public_key_pem == public_key_pem &&
         o->jwks_file == jwks_file && o->jwks_url == jwks_url &&
         o->oidc_discovery == oidc_discovery && o->jwks_refresh == jwks_refresh &&
         o->required_scopes == required_scopes &&
         o->leeway_seconds == leeway_seconds && o->forward_claims == forward_claims &&
         o->token_sources == token_sources && o->consumer_claim == consumer_claim;
}

nlohmann::json Config::to_json(bool redact) const {
  nlohmann::json out = {
      {"issuers", issuers},
      {"audiences", audiences},
      {"required_scopes", required_scopes},
      {"leeway", std::to_string(leeway_seconds) + "s"},
      {"token_sources", sources_json(token_sources)},
  };
  nlohmann::json algs = nlohmann::json::array();
  for (int a = 0; a < kAlgCount; ++a) {
    if (algorithms & alg_bit(static_cast<Alg>(a))) algs.push_back(alg_name(static_cast<Alg>(a)));
  }
  out["algorithms"] = algs;
  if (!secret.empty()) {
    // The secret as written: base64url again when it was given so.
    std::string shown = secret_base64 ? base64url_encode(secret) : secret;
    out["secret"] = redact ? std::string(config::kRedacted) : shown;
    out["secret_base64"] = secret_base64;
  }
  if (!public_key_file.empty()) out["public_key_file"] = public_key_file;
  if (!jwks_file.empty()) out["jwks_file"] = jwks_file;
  if (!jwks_url.empty()) out["jwks_url"] = jwks_url;
  if (!oidc_discovery.empty()) out["oidc_discovery"] = oidc_discovery;
  if (!jwks_url.empty() || !oidc_discovery.empty()) {
    out["jwks_refresh"] = config::format_duration(jwks_refresh);
  }
  nlohmann::json claims = nlohmann::json::object();
  for (const auto& [claim, header] : forward_claims) claims[claim] = header;
  out["forward_claims"] = claims;
  if (!consumer_claim.empty()) out["consumer_claim"] = consumer_claim;
  return out;
}

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map({"issuers", "audiences", "algorithms", "secret", "secret_base64",
                         "public_key_file", "jwks_file", "jwks_url", "oidc_discovery",
                         "jwks_refresh", "required_scopes", "leeway", "forward_claims",
                         "token_sources", "consumer_claim"})) {
    return nullptr;
  }
  out->secret_base64 = block.child("secret_base64").boolean().value_or(false);
  read_keys(block, *out);
  out->issuers = one_or_many(block.child("issuers"));
  out->audiences = one_or_many(block.child("audiences"));
  if (auto scopes = block.child("required_scopes").string_list()) out->required_scopes = *scopes;
  if (auto leeway = block.child("leeway").duration(config::Reader::Zero::kAllow)) {
    out->leeway_seconds = std::chrono::duration_cast<std::chrono::seconds>(*leeway).count();
  }
  read_forward_claims(block.child("forward_claims"), *out);
  read_token_sources(block.child("token_sources"), *out);
  if (auto claim = block.child("consumer_claim").non_empty_string()) out->consumer_claim = *claim;
  config::Reader algorithms = block.child("algorithms");
  if (algorithms.present()) {
    read_algorithms(algorithms, *out);
  } else {
    // Every algorithm the configured keys can verify (each key only its own family).
    out->algorithms = algorithms_of(out->static_keys) | algorithms_of(out->jwks_keys);
    if (!out->jwks_file.empty() || !out->jwks_url.empty() || !out->oidc_discovery.empty()) {
      // A rotated JWKS may bring another family: allow the asymmetric ones, never HS* unless a
      // secret is configured (an HMAC key in a JWKS must be asked for by `algorithms`).
      out->algorithms |=
          ~(alg_bit(Alg::kHS256) | alg_bit(Alg::kHS384) | alg_bit(Alg::kHS512)) & kAllAlgs;
    }
  }
  return block.has_errors() ? nullptr : out;
}

}  // namespace turnpike::plugins::jwt
