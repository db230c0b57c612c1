// The `routes:` section: match conditions (hosts, methods, paths, regex, headers), the upstream
// each route forwards to, and its plugins. Path patterns are checked in full by the router.
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "config/loader_internal.h"
#include "config/values.h"

namespace turnpike::config::detail {
namespace {

std::string to_lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return text;
}

// RFC 9110 token characters: what a method or a header name may be made of.
bool is_token(std::string_view text) {
  static constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) {
    return std::isalnum(c) || kSymbols.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

// A host condition, lower-cased: a name, "*.suffix", or an IP literal. IPv6 is stored without
// brackets, in canonical form ("[0:0::1]" -> "::1"), as routing/host.h reduces a Host header.
Parsed<std::string> parse_route_host(std::string text) {
  text = to_lower(std::move(text));
  auto fail = [&](const std::string& why) {
    return Parsed<std::string>::fail("invalid host \"" + text + "\"" + why);
  };
  if (text == "*") return fail(": leave hosts out to match any host");
  if (text.starts_with("*.")) {
    if (!is_valid_host_name(std::string_view(text).substr(2))) return fail("");
    return Parsed<std::string>::ok(text);
  }
  if (text.find('*') != std::string::npos) {
    return fail(": a wildcard is only allowed as a leading \"*.\"");
  }
  std::string_view literal = text;
  if (literal.starts_with('[') && literal.ends_with(']')) {
    literal = literal.substr(1, literal.size() - 2);
  }
  if (literal.find(':') != std::string_view::npos) {
    // Several colons can only be IPv6; one is a host with a port.
    Parsed<IpAddress> v6 = parse_ip(literal);
    if (v6 && !is_ipv4_mapped(*v6.value)) return Parsed<std::string>::ok(ip_to_string(*v6.value));
    if (literal.find(':') == literal.rfind(':')) {
      return fail(": hosts are matched without the port");
    }
    return fail("");
  }
  if (literal.size() != text.size()) return fail("");  // brackets around a non-IPv6
  if (parse_ip(text) || is_valid_host_name(text)) return Parsed<std::string>::ok(text);
  return fail("");
}

// The values of `plural` (a list), or of `singular` (one scalar, the seed shorthand).
std::vector<Reader> conditions(const Reader& route, std::string_view plural,
                               std::string_view singular) {
  Reader many = route.child(plural);
  Reader one = route.child(singular);
  if (many.present() && one.present()) {
    one.error("use either " + std::string(singular) + " or " + std::string(plural) + ", not both");
    return {};
  }
  if (one.present()) return {one};
  return many.items().value_or(std::vector<Reader>{});
}

void add_unique(std::vector<std::string>& list, std::string value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(std::move(value));
}

void parse_match(const Reader& route,
                 const std::function<std::string(std::string_view)>& pattern_error, Route& out) {
  for (const Reader& item : conditions(route, "hosts", "host")) {
    auto text = item.non_empty_string();
    if (!text) continue;
    Parsed<std::string> host = parse_route_host(*text);
    if (!host) {
      item.error(host.error);
      continue;
    }
    add_unique(out.hosts, std::move(*host.value));
  }
  for (const Reader& item : conditions(route, "methods", "method")) {
    auto text = item.non_empty_string();
    if (!text) continue;
    if (!is_token(*text)) {
      item.error("invalid method \"" + *text + "\"");
      continue;
    }
    std::string method = *text;
    std::transform(method.begin(), method.end(), method.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    add_unique(out.methods, std::move(method));
  }
  for (const Reader& item : conditions(route, "paths", "path")) {
    auto text = item.non_empty_string();
    if (!text) continue;
    if (!text->starts_with('/')) {
      item.error("invalid path \"" + *text + "\": must start with \"/\"");
      continue;
    }
    if (pattern_error) {
      if (std::string why = pattern_error(*text); !why.empty()) {
        item.error(why);
        continue;
      }
    }
    add_unique(out.paths, std::move(*text));
  }
  Reader regex = route.child("regex");
  if (auto text = regex.non_empty_string()) {
    RE2::Options options;
    options.set_log_errors(false);
    RE2 compiled(*text, options);
    if (compiled.ok()) {
      out.regex = *text;
    } else {
      regex.error("invalid regex: " + compiled.error());
    }
  }
  if (auto headers = route.child("headers").entries()) {
    for (const auto& [name, value] : *headers) {
      if (!is_token(name)) {
        value.error("invalid header name \"" + name + "\"");
        continue;
      }
      std::string lower = to_lower(name);
      auto text = value.string();
      if (!text) continue;
      bool repeated = std::any_of(out.headers.begin(), out.headers.end(),
                                  [&](const auto& header) { return header.first == lower; });
      if (repeated) {
        value.error("duplicate header \"" + lower + "\" (names are case-insensitive)");
        continue;
      }
      out.headers.emplace_back(std::move(lower), std::move(*text));
    }
  }
}

}  // namespace

void parse_routes(const Reader& section, const PluginCatalog& catalog,
                  const std::set<std::string>& declared,
                  const std::function<std::string(std::string_view)>& pattern_error,
                  const Config* running, Config& config) {
  if (section.is_null()) return;  // `routes:` with nothing under it: every request is a 404
  auto items = section.items();
  if (!items) return;
  std::map<std::string, std::string> name_owner;  // route name -> path of the route using it
  for (size_t i = 0; i < items->size(); ++i) {
    const Reader& item = (*items)[i];
    if (!item.expect_map({"name", "hosts", "host", "methods", "method", "paths", "path", "regex",
                          "headers", "upstream", "strip_prefix", "timeout", "plugins"})) {
      continue;
    }
    Route route;
    route.name = read_unique_name(item, "route", "route-" + std::to_string(i), name_owner);
    parse_match(item, pattern_error, route);
    if (auto upstream = resolve_upstream(item.required("upstream"), config.upstreams, declared)) {
      route.upstream = *upstream;
    }
    if (auto v = item.child("strip_prefix").boolean()) route.strip_prefix = *v;
    route.timeout = item.child("timeout").duration();
    Reader plugins = item.child("plugins");
    if (plugins.present()) {
      // The running route of the same name, whose secrets a "***" keeps.
      const std::vector<PluginEntry>* before = nullptr;
      if (running) {
        for (const Route& r : running->routes) {
          if (r.name == route.name) before = &r.plugins;
        }
      }
      route.plugins = catalog.parse(plugins, before);
    }
    config.routes.push_back(std::move(route));
  }
}

}  // namespace turnpike::config::detail
