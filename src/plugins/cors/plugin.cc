// cors (see plugin.h). The joined header values are made once, when the plugin is built; per
// request the plugin only points at them, or at the request's own Origin.
#include "plugins/cors/plugin.h"

#include <algorithm>
#include <string>

#include "plugins/cors/config.h"

namespace turnpike::plugins::cors {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

class Cors final : public Plugin {
 public:
  explicit Cors(const Config& config)
      : config_(config),
        any_origin_(std::find(config.origins.begin(), config.origins.end(), "*") !=
                    config.origins.end()),
        methods_(join(config.methods)),
        headers_(join(config.headers)),
        expose_(join(config.expose_headers)),
        max_age_(config.max_age ? std::to_string(config.max_age->count() / 1000) : "") {}

  // A preflight is the gateway's to answer, allowed or not: the upstream never sees it. A
  // disallowed origin gets no Access-Control-* field, which is how the browser learns "no".
  Verdict on_request(Context& c) const override {
    std::string_view origin = origin_of(c);
    if (origin.empty() || !preflight(c)) return Verdict::next();
    if (allowed(origin)) {
      allow_origin(c, origin);
      c.response_headers.set("Access-Control-Allow-Methods", methods_);
      if (!headers_.empty()) {
        c.response_headers.set("Access-Control-Allow-Headers", headers_);
      } else if (const http::Header* asked = c.header("access-control-request-headers")) {
        c.response_headers.set("Access-Control-Allow-Headers", asked->value);
      }
      if (!max_age_.empty()) c.response_headers.set("Access-Control-Max-Age", max_age_);
    }
    return Verdict::answer(204);
  }

  // Every other response to an allowed origin, the gateway's own errors included (a browser
  // shows the script a 429 only when it carries the CORS fields). The preflight's fields were
  // added by on_request.
  void on_response(Context& c) const override {
    std::string_view origin = origin_of(c);
    if (origin.empty() || preflight(c) || !allowed(origin)) return;
    allow_origin(c, origin);
    if (!expose_.empty()) c.response_headers.set("Access-Control-Expose-Headers", expose_);
  }

 private:
  // Empty when the request is not a CORS request (no Origin, or an empty one).
  static std::string_view origin_of(const Context& c) {
    const http::Header* origin = c.header("origin");
    return origin ? origin->value : std::string_view();
  }

  // OPTIONS with Origin and Access-Control-Request-Method (Fetch standard, CORS preflight).
  static bool preflight(const Context& c) {
    return c.method == "OPTIONS" && c.header("access-control-request-method");
  }

  // Exact, ignoring case (scheme and host are case-insensitive; a port is digits).
  bool allowed(std::string_view origin) const {
    if (any_origin_) return true;
    for (const std::string& o : config_.origins) {
      if (http::iequals(o, origin)) return true;
    }
    return false;
  }

  // A browser refuses "*" on a request with credentials, so the origin itself is echoed then.
  // Vary: Origin keeps a cache from serving one origin's answer to another (added, not set: the
  // upstream's own Vary stays).
  void allow_origin(Context& c, std::string_view origin) const {
    bool wildcard = any_origin_ && !config_.credentials;
    c.response_headers.set("Access-Control-Allow-Origin", wildcard ? "*" : origin);
    c.response_headers.add("Vary", "Origin");
    if (config_.credentials) c.response_headers.set("Access-Control-Allow-Credentials", "true");
  }

  const Config& config_;  // kept alive by the chain link that holds this plugin
  bool any_origin_;
  std::string methods_, headers_, expose_, max_age_;
};

}  // namespace

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<Cors>(static_cast<const Config&>(config));
}

}  // namespace turnpike::plugins::cors
