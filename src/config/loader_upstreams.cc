// The `upstreams:` section, and the upstreams a route defines inline (http:// URLs, builtins).
#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "config/loader_internal.h"
#include "config/values.h"

namespace turnpike::config::detail {
namespace {

constexpr std::string_view kBuiltinPrefix = "builtin:";
constexpr std::string_view kBuiltinEcho = "builtin:echo";
constexpr std::string_view kNoHttps =
    "https upstreams are not supported yet (TLS to upstreams is still to come; use http://)";

bool is_valid_upstream_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

// One entry of `targets`: {address, weight}, or just "host:port" (weight 1).
std::optional<Target> parse_target(const Reader& item) {
  if (item.is_scalar()) {
    auto address = item.host_port(HostForm::kTarget);
    if (!address) return std::nullopt;
    return Target{*address, 1};
  }
  if (!item.expect_map({"address", "weight"})) return std::nullopt;
  Target target;
  auto address = item.required("address").host_port(HostForm::kTarget);
  if (auto weight = item.child("weight").integer(1, 1000)) {
    target.weight = static_cast<uint32_t>(*weight);
  }
  if (!address) return std::nullopt;
  target.address = *address;
  return target;
}

void parse_targets(const Reader& section, bool has_discovery, std::vector<Target>& out) {
  auto items = section.items();
  if (!items) {
    // Discovery would supply the targets; it is reported as not supported on its own.
    if (!section.present() && !has_discovery) section.error("at least one target is required");
    return;
  }
  if (items->empty() && !has_discovery) section.error("at least one target is required");
  std::map<std::string, std::string> owner;  // address -> path of its first entry
  for (const Reader& item : *items) {
    auto target = parse_target(item);
    if (!target) continue;
    auto [it, fresh] = owner.emplace(target->address.to_string(), item.path());
    if (!fresh) {
      item.error("duplicate target " + target->address.to_string() + " (also " + it->second + ")");
      continue;
    }
    out.push_back(std::move(*target));
  }
}

void parse_timeouts(const Reader& section, UpstreamTimeouts& out) {
  if (!section.expect_map({"connect", "response_header", "idle"})) return;
  if (auto v = section.child("connect").duration()) out.connect = *v;
  if (auto v = section.child("response_header").duration()) out.response_header = *v;
  if (auto v = section.child("idle").duration()) out.idle = *v;
}

void parse_keepalive(const Reader& section, Keepalive& out) {
  if (!section.expect_map({"max_idle_per_worker", "idle_timeout"})) return;
  if (auto v = section.child("max_idle_per_worker").integer(0, 100000)) {
    out.max_idle_per_worker = static_cast<uint32_t>(*v);
  }
  if (auto v = section.child("idle_timeout").duration()) out.idle_timeout = *v;
}

void parse_retries(const Reader& section, Retries& out) {
  if (!section.expect_map({"attempts", "on"})) return;
  if (auto v = section.child("attempts").integer(0, 10)) out.attempts = static_cast<uint32_t>(*v);
  auto items = section.child("on").items();
  if (!items) return;
  out.on.clear();
  for (const Reader& item : *items) {
    auto value = item.one_of({"connect_failure", "502", "503", "504"});
    if (!value) continue;
    RetryOn on = *value == "connect_failure" ? RetryOn::kConnectFailure
                 : *value == "502"           ? RetryOn::k502
                 : *value == "503"           ? RetryOn::k503
                                             : RetryOn::k504;
    if (std::find(out.on.begin(), out.on.end(), on) == out.on.end()) out.on.push_back(on);
  }
}

void parse_upstream(const Reader& block, Upstream& out) {
  if (!block.expect_map({"targets", "scheme", "balance", "hash_on", "discovery", "health_check",
                         "circuit_breaker", "timeouts", "keepalive", "retries", "tls"})) {
    return;
  }
  for (std::string_view key : {"hash_on", "discovery", "health_check", "circuit_breaker", "tls"}) {
    block.child(key).not_supported();
  }
  parse_targets(block.child("targets"), block.child("discovery").present(), out.targets);
  Reader scheme = block.child("scheme");
  if (auto v = scheme.one_of({"http", "https"})) {
    if (*v == "https") scheme.error(std::string(kNoHttps));
  }
  Reader balance = block.child("balance");
  if (auto v =
          balance.one_of({"round_robin", "least_conn", "p2c_ewma", "consistent_hash", "random"})) {
    for (std::size_t i = 0; i < std::size(kBalanceNames); ++i) {
      if (*v == kBalanceNames[i]) out.balance = static_cast<Balance>(i);
    }
    if (out.balance != Balance::kRoundRobin) balance.error("not supported yet");
  }
  parse_timeouts(block.child("timeouts"), out.timeouts);
  parse_keepalive(block.child("keepalive"), out.keepalive);
  parse_retries(block.child("retries"), out.retries);
}

// `upstream: http://host:port/base`: a one-target upstream named by the URL as written.
std::optional<std::string> inline_url_upstream(const Reader& value, const std::string& text,
                                               std::map<std::string, Upstream>& upstreams) {
  Parsed<Url> url = parse_url(text);
  if (!url) {
    value.error(url.error);
    return std::nullopt;
  }
  if (url.value->scheme == "https") {
    value.error(std::string(kNoHttps));
    return std::nullopt;
  }
  if (url.value->scheme != "http") {
    value.error("invalid upstream \"" + text + "\": only http:// URLs can be given inline");
    return std::nullopt;
  }
  if (upstreams.count(text) == 0) {
    Upstream upstream;
    upstream.name = text;
    upstream.inline_url = true;
    // "/api/" and "/api" forward "/users" to "/api/users"; "/" is no base at all.
    std::string base = url.value->path;
    while (!base.empty() && base.back() == '/') base.pop_back();
    upstream.base_path = base;
    upstream.targets.push_back({url.value->host_port, 1});
    upstreams.emplace(text, std::move(upstream));
  }
  return text;
}

}  // namespace

void parse_upstreams(const Reader& section, std::map<std::string, Upstream>& out,
                     std::set<std::string>& declared) {
  auto entries = section.entries();
  if (!entries) return;
  for (const auto& [name, block] : *entries) {
    declared.insert(name);
    if (!is_valid_upstream_name(name)) {
      block.error("invalid upstream name \"" + name + "\" (use letters, digits, '_', '.' and '-')");
      continue;
    }
    Upstream upstream;
    upstream.name = name;
    parse_upstream(block, upstream);
    out.emplace(name, std::move(upstream));
  }
}

std::optional<std::string> resolve_upstream(const Reader& value,
                                            std::map<std::string, Upstream>& upstreams,
                                            const std::set<std::string>& declared) {
  auto text = value.non_empty_string();
  if (!text) return std::nullopt;
  if (text->starts_with(kBuiltinPrefix)) {
    if (*text != kBuiltinEcho) {
      value.error("unknown builtin upstream \"" + *text + "\" (available: builtin:echo)");
      return std::nullopt;
    }
    if (upstreams.count(*text) == 0) {
      Upstream echo;
      echo.name = *text;
      echo.kind = UpstreamKind::kBuiltinEcho;
      upstreams.emplace(*text, std::move(echo));
    }
    return text;
  }
  if (text->find("://") != std::string::npos) return inline_url_upstream(value, *text, upstreams);
  if (declared.count(*text) == 0) {
    std::string hint;
    if (parse_host_port(*text, HostForm::kTarget)) {
      // An address where a name or URL belongs: the scheme is what is missing.
      hint = " (to forward to an address, write a URL: \"http://" + *text + "\")";
    } else {
      std::vector<std::string> names(declared.begin(), declared.end());
      hint = did_you_mean(*text, names);
    }
    value.error("unknown upstream \"" + *text + "\"" + hint);
    return std::nullopt;
  }
  return text;
}

}  // namespace turnpike::config::detail
