// cors configuration (see config.h).
#include "plugins/cors/config.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "config/json.h"
#include "http/headers.h"

namespace turnpike::plugins::cors {
namespace {

// The Origin a browser sends: scheme "://" host [":" port], or "null" (opaque origins).
bool is_origin(std::string_view text) {
  if (text == "*" || text == "null") return true;
  std::size_t sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0 || !std::isalpha(text[0])) return false;
  std::string_view scheme = text.substr(0, sep);
  bool scheme_ok = std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '+' || c == '-' || c == '.';
  });
  return scheme_ok && http::valid_authority(text.substr(sep + 3));
}

// The list at `list` (absent: `out` keeps its default), each entry checked with `valid`; an
// entry that is not is recorded as `invalid WHAT "entry"` at its index.
void read_list(const config::Reader& list, std::vector<std::string>& out,
               bool (*valid)(std::string_view), const char* what, const char* hint = "") {
  auto items = list.string_list();
  if (!items) return;
  for (std::size_t i = 0; i < items->size(); ++i) {
    if (!valid((*items)[i])) {
      list.index(i).error(std::string("invalid ") + what + " \"" + (*items)[i] + "\"" + hint);
    }
  }
  out = std::move(*items);
}

}  // namespace

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->origins == origins && o->methods == methods && o->headers == headers &&
         o->expose_headers == expose_headers && o->credentials == credentials &&
         o->max_age == max_age;
}

nlohmann::json Config::to_json(bool) const {
  nlohmann::json out = {{"origins", origins},
                        {"methods", methods},
                        {"headers", headers},
                        {"expose_headers", expose_headers},
                        {"credentials", credentials}};
  out["max_age"] = max_age ? nlohmann::json(config::format_duration(*max_age)) : nlohmann::json();
  return out;
}

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map(
          {"origins", "methods", "headers", "expose_headers", "credentials", "max_age"})) {
    return nullptr;
  }
  config::Reader origins = block.required("origins");
  read_list(origins, out->origins, is_origin, "origin",
            ": give scheme://host[:port] without a path, or \"*\"");
  if (origins.is_list() && out->origins.empty()) origins.error("must list at least one origin");
  config::Reader methods = block.child("methods");
  read_list(methods, out->methods, http::is_token, "method");
  if (methods.is_list() && out->methods.empty()) methods.error("must list at least one method");
  read_list(block.child("headers"), out->headers, http::is_token, "header name");
  read_list(block.child("expose_headers"), out->expose_headers, http::is_token, "header name");
  if (auto credentials = block.child("credentials").boolean()) out->credentials = *credentials;
  if (auto max_age = block.child("max_age").duration(config::Reader::Zero::kAllow)) {
    out->max_age = *max_age;
  }
  if (block.has_errors()) return nullptr;
  return out;
}

}  // namespace turnpike::plugins::cors
