// rate_limit configuration (see config.h).
#include "plugins/rate_limit/config.h"

#include <nlohmann/json.hpp>

#include "config/json.h"
#include "http/headers.h"
#include "plugins/rate_limit/limiter.h"

namespace turnpike::plugins::rate_limit {
namespace {

constexpr int64_t kMaxCount = 1'000'000'000;
constexpr uint64_t kMaxKeys = 1ull << 24;  // 256 MiB of slots
// How far ahead of now a key's TAT may run (burst × window / limit): beyond this, nanosecond
// arithmetic would come close to overflowing.
constexpr std::chrono::hours kMaxTolerance{24 * 365 * 10};

constexpr std::pair<KeyKind, std::string_view> kKeyNames[] = {
    {KeyKind::kIp, "ip"},         {KeyKind::kConsumer, "consumer"}, {KeyKind::kRoute, "route"},
    {KeyKind::kHeader, "header"}, {KeyKind::kGlobal, "global"},
};

std::string key_text(const Config& c) {
  for (const auto& [kind, name] : kKeyNames) {
    if (kind == c.key) return kind == KeyKind::kHeader ? "header:" + c.header : std::string(name);
  }
  return {};
}

void read_key(const config::Reader& key, Config& out) {
  auto text = key.string();
  if (!text) return;
  constexpr std::string_view kHeader = "header:";
  if (text->starts_with(kHeader)) {
    out.key = KeyKind::kHeader;
    out.header = text->substr(kHeader.size());
    if (!http::is_token(out.header)) key.error("invalid header name \"" + out.header + "\"");
    return;
  }
  for (const auto& [kind, name] : kKeyNames) {
    if (kind != KeyKind::kHeader && *text == name) {
      out.key = kind;
      return;
    }
  }
  key.error("invalid value \"" + *text + "\" (allowed: ip, consumer, route, header:NAME, global)");
}

}  // namespace

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->limit == limit && o->window == window && o->burst == burst && o->key == key &&
         o->header == header && o->max_keys == max_keys;
}

nlohmann::json Config::to_json(bool) const {
  return {{"limit", limit},    {"window", config::format_duration(window)},
          {"burst", burst},    {"key", key_text(*this)},
          {"policy", "local"}, {"max_keys", max_keys}};
}

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map({"limit", "window", "burst", "key", "policy", "redis", "max_keys"})) {
    return nullptr;
  }
  if (auto limit = block.required("limit").integer(1, kMaxCount)) out->limit = *limit;
  config::Reader window = block.required("window");
  if (auto w = window.duration()) {
    out->window = *w;
    if (out->window > kMaxTolerance) window.error("must be at most 87600h (10 years)");
  }
  if (auto burst = block.child("burst").integer(1, kMaxCount)) out->burst = *burst;
  read_key(block.child("key"), *out);
  if (auto max_keys = block.child("max_keys").integer(1, kMaxKeys)) out->max_keys = *max_keys;
  if (auto policy = block.child("policy").one_of({"local", "redis"}); policy == "redis") {
    block.child("policy").error("policy \"redis\" is not available in this build yet");
  }
  if (block.child("redis").present()) {
    block.child("redis").error("policy \"redis\" is not available in this build yet");
  }
  if (block.has_errors()) return nullptr;
  if (out->burst == 0) out->burst = out->limit;
  int64_t interval_ns =
      Rate::of(out->limit, std::chrono::nanoseconds(out->window).count(), 1).interval_ns;
  if (static_cast<__int128>(interval_ns) * out->burst >
      std::chrono::nanoseconds(kMaxTolerance).count()) {
    block.error("burst × window / limit must be at most 10 years");
    return nullptr;
  }
  return out;
}

}  // namespace turnpike::plugins::rate_limit
