// key_auth (see plugin.h).
#include "plugins/key_auth/plugin.h"

#include "plugins/consumers.h"
#include "plugins/key_auth/config.h"
#include "text/url.h"

namespace turnpike::plugins::key_auth {
namespace {

// RFC 7235: a 401 says how to authenticate.
constexpr std::string_view kChallenge = "Key realm=\"turnpike\"";

class KeyAuth final : public Plugin {
 public:
  explicit KeyAuth(const Config& config) : config_(config) {}

  Verdict on_request(Context& c) const override {
    std::optional<std::string_view> key = find_key(c);
    if (!key) return unauthorized(c, "missing API key");
    const config::Consumer* consumer = c.consumers ? c.consumers->by_key(*key) : nullptr;
    if (!consumer) return unauthorized(c, "invalid API key");
    c.consumer = consumer->name;
    c.consumer_entry = consumer;
    return Verdict::next();
  }

 private:
  // The key from the first source present (an empty value counts as absent).
  std::optional<std::string_view> find_key(Context& c) const {
    for (const Source& source : config_.sources) {
      std::optional<std::string_view> value;
      if (source.kind == Source::Kind::kHeader) {
        if (const http::Header* h = c.header(source.name)) value = h->value;
      } else {
        value = query_value(c.query, source.name, c.arena);
      }
      if (value && !value->empty()) return value;
    }
    return std::nullopt;
  }

  static Verdict unauthorized(Context& c, std::string_view message) {
    c.response_headers.set("WWW-Authenticate", kChallenge);
    return Verdict::refuse(http::Error::kUnauthorized, message);
  }

  const Config& config_;  // kept alive by the chain link that holds this plugin
};

}  // namespace

std::optional<std::string_view> query_value(std::string_view query, std::string_view name,
                                            Arena& arena) {
  while (!query.empty()) {
    std::size_t end = query.find('&');
    std::string_view pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    // (Two memchr scans: find_first_of tests every byte against the set, ten times the cost.)
    if (value.find('%') == std::string_view::npos && value.find('+') == std::string_view::npos) {
      return value;
    }
    return arena.copy(text::url_decode(value));
  }
  return std::nullopt;
}

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<KeyAuth>(static_cast<const Config&>(config));
}

}  // namespace turnpike::plugins::key_auth
