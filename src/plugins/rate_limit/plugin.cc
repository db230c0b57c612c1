// rate_limit (see plugin.h). The request phase counts the request in the route's Limiter and
// sets the RateLimit-* fields as response edits, so that they reach whatever answers it (the
// upstream, the 429, a later 413 or 502). The response phase covers the requests refused before
// rate_limit's turn (ip_restriction, authentication): their fields show the key's bucket as it
// is, without counting them.
#include "plugins/rate_limit/plugin.h"

#include <atomic>
#include <charconv>
#include <random>
#include <string>

#include "net/timers.h"
#include "observe/log.h"
#include "plugins/rate_limit/config.h"
#include "plugins/rate_limit/limiter.h"
#include "text/fast_hash.h"

namespace turnpike::plugins::rate_limit {
namespace {

constexpr std::string_view kLimitField = "RateLimit-Limit";
constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kWarningEvery = 10 * kSecond;

// Keys of different kinds never meet: each is hashed with its own seed.
enum Space : uint64_t { kAddress = 1, kAddressText, kConsumerName, kHeaderValue };

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(net::Clock::now().time_since_epoch())
      .count();
}

// Whole seconds, rounded up: a client told to come back in 0 s would be refused again.
uint64_t seconds(int64_t ns) { return static_cast<uint64_t>((ns + kSecond - 1) / kSecond); }

std::string_view number(Context& c, uint64_t n) {
  char text[24];
  auto [end, ec] = std::to_chars(text, text + sizeof text, n);
  return c.arena.copy(std::string_view(text, end - text));
}

class RateLimit final : public Plugin {
 public:
  explicit RateLimit(const Config& config)
      : config_(config),
        limiter_(
            Rate::of(config.limit, std::chrono::nanoseconds(config.window).count(), config.burst),
            config.keys()),
        limit_text_(std::to_string(config.burst)),
        seed_(std::random_device{}() * uint64_t{0x9E3779B97F4A7C15} ^ std::random_device{}()) {}

  Verdict on_request(Context& c) const override {
    int64_t now = now_ns();
    Decision d = limiter_.take(key(c), now);
    if (!d.tracked) warn_untracked(now);
    set_fields(c, d);
    if (d.allowed) return Verdict::next();
    c.response_headers.set("Retry-After", number(c, seconds(d.retry_after_ns)));
    return Verdict::refuse(http::Error::kRateLimited, "rate limit exceeded");
  }

  void on_response(Context& c) const override {
    if (c.response_headers.drops(kLimitField)) return;  // the request phase set them
    set_fields(c, limiter_.peek(key(c), now_ns()));
  }

 private:
  // What the request is counted under. A request with no consumer (for `consumer`) or without
  // the header (for `header:NAME`) is counted under its client address, as Kong and APISIX do.
  uint64_t key(const Context& c) const {
    switch (config_.key) {
      case KeyKind::kRoute:
      case KeyKind::kGlobal:
        return 0;
      case KeyKind::kConsumer:
        if (!c.consumer.empty()) return hash(kConsumerName, c.consumer);
        break;
      case KeyKind::kHeader:
        if (const http::Header* h = c.header(config_.header); h && !h->value.empty()) {
          return hash(kHeaderValue, h->value);
        }
        break;
      case KeyKind::kIp:
        break;
    }
    if (!c.client_address_known) return hash(kAddressText, c.client_ip);
    return hash(kAddress, std::string_view(reinterpret_cast<const char*>(c.client_address.data()),
                                           c.client_address.size()));
  }

  uint64_t hash(Space space, std::string_view bytes) const {
    return text::fast_hash(bytes, seed_ + space);
  }

  void set_fields(Context& c, const Decision& d) const {
    c.response_headers.set(kLimitField, limit_text_);
    c.response_headers.set("RateLimit-Remaining", number(c, d.remaining));
    c.response_headers.set("RateLimit-Reset", number(c, seconds(d.reset_ns)));
  }

  // At most one line every kWarningEvery per limiter, whichever worker sees the table full.
  void warn_untracked(int64_t now) const {
    int64_t due = next_warning_ns_.load(std::memory_order_relaxed);
    if (now < due || !next_warning_ns_.compare_exchange_strong(due, now + kWarningEvery)) return;
    observe::log_warn(
        "rate_limit: every slot for new keys is in use; their requests pass uncounted",
        {{"max_keys", std::to_string(config_.max_keys)},
         {"untracked_total", std::to_string(limiter_.untracked())}});
  }

  const Config& config_;  // kept alive by the chain link that holds this plugin
  mutable Limiter limiter_;
  const std::string limit_text_;
  const uint64_t seed_;
  mutable std::atomic<int64_t> next_warning_ns_{0};
};

}  // namespace

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<RateLimit>(static_cast<const Config&>(config));
}

}  // namespace turnpike::plugins::rate_limit
