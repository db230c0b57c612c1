// jwt (see plugin.h). The request phase: find the token, look it up in this worker's cache of
// verified tokens, else verify its signature (jose.h) and its claims, then forward claims and
// name the consumer.
#include "plugins/jwt/plugin.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <unordered_map>

#include "http/headers.h"
#include "plugins/consumers.h"
#include "plugins/jwt/claims.h"
#include "plugins/jwt/config.h"
#include "plugins/jwt/key_store.h"
#include "plugins/jwt/remote_jwks.h"

namespace turnpike::plugins::jwt {
namespace {

constexpr std::string_view kNoToken = "Bearer";
constexpr std::string_view kInvalidToken = "Bearer error=\"invalid_token\"";
constexpr std::string_view kInsufficientScope = "Bearer error=\"insufficient_scope\"";

// Per worker: the tokens verified, by plugin and whole token, in one bounded map for every route
// of the worker (so many routes with jwt share the bound instead of each clearing the others').
// An entry is used only with the key set it was verified with and never past its `exp`; entries
// of plugins gone with an old snapshot are evicted like any other.
constexpr std::size_t kCacheEntries = 16384;

struct CachedToken {
  uint64_t key_version = 0;
  int64_t good_until = 0;  // unix seconds
  Accepted accepted;
};

struct CacheKey {
  uint64_t plugin = 0;
  std::string token;
};
struct CacheKeyView {  // looked up without copying the token
  uint64_t plugin = 0;
  std::string_view token;
};
struct CacheHash {
  using is_transparent = void;
  std::size_t operator()(const CacheKeyView& k) const {
    return std::hash<std::string_view>{}(k.token) ^ (k.plugin * 0x9e3779b97f4a7c15ULL);
  }
  std::size_t operator()(const CacheKey& k) const {
    return (*this)(CacheKeyView{k.plugin, k.token});
  }
};
struct CacheEqual {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.plugin == b.plugin && std::string_view(a.token) == std::string_view(b.token);
  }
};
using TokenCache = std::unordered_map<CacheKey, CachedToken, CacheHash, CacheEqual>;

TokenCache& worker_cache() {
  thread_local TokenCache cache;
  return cache;
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// `Bearer <token>` (the scheme compared case-insensitively); another scheme is no token.
std::optional<std::string_view> bearer(std::string_view value, bool scheme_required) {
  value = trim(value);
  if (value.size() > 7 && http::iequals(value.substr(0, 7), "bearer "))
    return trim(value.substr(7));
  if (scheme_required) return std::nullopt;
  return value;
}

// `name=value` pairs separated by `separator` (cookies: "; ", queries: "&").
std::optional<std::string_view> find_pair(std::string_view list, char separator,
                                          std::string_view name) {
  while (!list.empty()) {
    std::size_t end = list.find(separator);
    std::string_view pair = trim(list.substr(0, end));
    list = end == std::string_view::npos ? std::string_view() : list.substr(end + 1);
    std::size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> find_token(const Context& c,
                                           const std::vector<TokenSource>& sources) {
  for (const TokenSource& source : sources) {
    switch (source.kind) {
      case TokenSource::Kind::kHeader:
        if (const http::Header* h = c.header(source.name)) {
          auto token = bearer(h->value, http::iequals(source.name, "Authorization"));
          if (token && !token->empty()) return token;
        }
        break;
      case TokenSource::Kind::kCookie:
        for (const http::Header& h : *c.headers) {
          if (!http::iequals(h.name, "Cookie")) continue;
          if (auto token = find_pair(h.value, ';', source.name); token && !token->empty()) {
            return token;
          }
        }
        break;
      case TokenSource::Kind::kQuery:
        if (auto token = find_pair(c.query, '&', source.name); token && !token->empty()) {
          return token;
        }
        break;
    }
  }
  return std::nullopt;
}

std::atomic<uint64_t> g_next_plugin_id{1};

class Jwt final : public Plugin {
 public:
  explicit Jwt(const Config& config)
      : config_(config),
        checker_(config),
        id_(g_next_plugin_id.fetch_add(1, std::memory_order_relaxed)) {
    store_ = std::make_shared<KeyStore>(config.static_keys, config.jwks_keys);
    if (!config.jwks_file.empty()) {
      file_ = std::make_shared<JwksFile>(config.jwks_file, config.jwks_stamp, store_);
      watch(file_);
    }
    if (!config.jwks_url.empty() || !config.oidc_discovery.empty()) {
      RemoteJwks::Options options;
      options.jwks_url = config.jwks_url;
      options.discovery_url = discovery_document_url(config.oidc_discovery);
      options.refresh = config.jwks_refresh;
      remote_ = std::make_shared<RemoteJwks>(std::move(options), store_);
      remote_->start();
      watch(remote_);
    }
  }

  Verdict on_request(Context& c) const override { return decide(c, remote_ != nullptr); }

  // A token signed by a key the set lacks, with remote keys: the refresh it started (or the one
  // already running) has ended; decide again with what it brought.
  net::Task<Verdict> wait(Context& c) const override {
    {
      net::Completion<bool> refreshed(*c.loop);
      net::Watch watch(*c.cancel, refreshed);
      if (std::shared_ptr<RemoteJwks::Ticket> ticket = remote_->join(*c.loop, refreshed)) {
        std::optional<bool> done = co_await refreshed.wait();
        remote_->leave(ticket);
        if (!done) co_return invalid(c, "signing keys are being fetched");  // deadline, hang-up
      }
    }
    co_return decide(c, false);
  }

 private:
  // `may_wait`: an unknown key may start a refresh of the remote keys and wait for it.
  Verdict decide(Context& c, bool may_wait) const {
    std::optional<std::string_view> token = find_token(c, config_.token_sources);
    if (!token) {
      c.response_headers.set("WWW-Authenticate", kNoToken);
      return Verdict::refuse(http::Error::kUnauthorized, "missing bearer token");
    }
    int64_t now = unix_now();
    TokenCache& cache = worker_cache();
    uint64_t version = store_->version();
    auto hit = cache.find(CacheKeyView{id_, *token});
    if (hit != cache.end()) {
      if (hit->second.key_version == version && now < hit->second.good_until) {
        apply(c, hit->second.accepted);
        return Verdict::next();
      }
      cache.erase(hit);
    }

    std::shared_ptr<const KeySet> keys = store_->current();
    Verified verified = verify_compact(*token, keys->keys, config_.algorithms);
    if (verified.failure == Failure::kUnknownKey && may_wait &&
        remote_->refresh_for_unknown_key()) {
      return Verdict::wait();
    }
    if (verified.failure != Failure::kNone) return invalid(c, failure_text(verified.failure));
    Accepted accepted;
    Checked checked = checker_.check(verified.payload, now, accepted);
    if (checked.refusal == Refusal::kInvalid) return invalid(c, checked.message);
    if (checked.refusal == Refusal::kScope) {
      c.response_headers.set("WWW-Authenticate", kInsufficientScope);
      return Verdict::refuse(http::Error::kForbidden, checked.message);
    }
    apply(c, accepted);
    if (cache.size() >= kCacheEntries) cache.erase(cache.begin());
    cache.emplace(CacheKey{id_, std::string(*token)},
                  CachedToken{keys->version, checked.good_until, std::move(accepted)});
    return Verdict::next();
  }

  static Verdict invalid(Context& c, std::string_view why) {
    c.response_headers.set("WWW-Authenticate", kInvalidToken);
    return Verdict::refuse(http::Error::kUnauthorized, why);
  }

  // The claims forwarded as request fields (each replacing whatever the client sent under that
  // name, so none can be forged) and the consumer. Values are copied into the exchange's arena:
  // the cache entry may be evicted before the exchange ends.
  void apply(Context& c, const Accepted& accepted) const {
    for (std::size_t i = 0; i < config_.forward_claims.size(); ++i) {
      const std::string& header = config_.forward_claims[i].second;
      const std::optional<std::string>& value = accepted.forwarded[i];
      if (value) {
        c.request_headers.set(header, c.arena.copy(*value));
      } else {
        c.request_headers.remove(header);
      }
    }
    if (!accepted.consumer.empty()) {
      c.consumer = c.arena.copy(accepted.consumer);
      c.consumer_entry = c.consumers ? c.consumers->by_name(c.consumer) : nullptr;  // for acl
    }
  }

  const Config& config_;  // kept alive by the chain link that holds this plugin
  ClaimChecker checker_;
  uint64_t id_;
  std::shared_ptr<KeyStore> store_;
  std::shared_ptr<JwksFile> file_;
  std::shared_ptr<RemoteJwks> remote_;
};

}  // namespace

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<Jwt>(static_cast<const Config&>(config));
}

}  // namespace turnpike::plugins::jwt
