// rate_limit: its configuration (errors at their paths, defaults), GCRA's arithmetic, the
// limiter's exactness under threads racing on the same keys, the bound on keys, and the verdicts
// and RateLimit-* fields the plugin gives for each kind of key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "config/values.h"
#include "plugin_test_util.h"
#include "plugins/rate_limit/config.h"
#include "plugins/rate_limit/limiter.h"
#include "plugins/rate_limit/plugin.h"

namespace turnpike::plugins::rate_limit {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using testing_util::BadConfig;
using testing_util::Parsed;

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kSecond = 1000 * kMs;
constexpr int64_t kT0 = 1000 * kSecond;  // an arbitrary "now" on the steady clock

Parsed parse_yaml(const std::string& yaml) {
  return testing_util::parse_block(parse, yaml, "plugins.rate_limit");
}

// ---- Configuration.

class RateLimitConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(RateLimitConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), "plugins.rate_limit");
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RateLimitConfigTest,
    ::testing::Values(
        BadConfig{"NoLimit", "{window: 1m}", "plugins.rate_limit.limit: required"},
        BadConfig{"NoWindow", "{limit: 10}", "plugins.rate_limit.window: required"},
        BadConfig{"ZeroLimit", "{limit: 0, window: 1m}",
                  "plugins.rate_limit.limit: must be an integer between 1 and 1000000000"},
        BadConfig{"ZeroWindow", "{limit: 1, window: 0s}",
                  "plugins.rate_limit.window: invalid duration \"0s\": must be greater than 0"},
        BadConfig{"HugeWindow", "{limit: 1, window: 100000h}",
                  "plugins.rate_limit.window: must be at most 87600h (10 years)"},
        BadConfig{"HugeTolerance", "{limit: 1, window: 80000h, burst: 2}",
                  "plugins.rate_limit: burst × window / limit must be at most 10 years"},
        BadConfig{"ZeroBurst", "{limit: 1, window: 1s, burst: 0}",
                  "plugins.rate_limit.burst: must be an integer between 1 and 1000000000"},
        BadConfig{"UnknownKey", "{limit: 1, window: 1s, key: user}",
                  "plugins.rate_limit.key: invalid value \"user\" (allowed: ip, consumer, route, "
                  "header:NAME, global)"},
        BadConfig{"HeaderWithoutName", "{limit: 1, window: 1s, key: \"header:\"}",
                  "plugins.rate_limit.key: invalid header name \"\""},
        BadConfig{"HeaderNotAToken", "{limit: 1, window: 1s, key: \"header:X Id\"}",
                  "plugins.rate_limit.key: invalid header name \"X Id\""},
        BadConfig{"RedisPolicy", "{limit: 1, window: 1s, policy: redis}",
                  "plugins.rate_limit.policy: policy \"redis\" is not available in this build "
                  "yet"},
        BadConfig{"RedisBlock", "{limit: 1, window: 1s, redis: {address: \"127.0.0.1:6379\"}}",
                  "plugins.rate_limit.redis: policy \"redis\" is not available in this build "
                  "yet"},
        BadConfig{"OtherPolicy", "{limit: 1, window: 1s, policy: cluster}",
                  "plugins.rate_limit.policy: invalid value \"cluster\" (allowed: local, redis)"},
        BadConfig{"ZeroMaxKeys", "{limit: 1, window: 1s, max_keys: 0}",
                  "plugins.rate_limit.max_keys: must be an integer between 1 and 16777216"},
        BadConfig{"Typo", "{limit: 1, window: 1s, brust: 3}",
                  "plugins.rate_limit.brust: unknown key (did you mean \"burst\"?)"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RateLimitConfig, BurstDefaultsToTheLimitAndKeyToTheConsumer) {
  Parsed parsed = parse_yaml("{limit: 100, window: 1m}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  EXPECT_EQ(parsed.config->to_json(true), nlohmann::json::parse(R"({"limit": 100, "window": "1m",
      "burst": 100, "key": "consumer", "policy": "local", "max_keys": 65536})"));
  Parsed header = parse_yaml("{limit: 5, window: 1s, burst: 9, key: \"header:X-Tenant\"}");
  ASSERT_THAT(header.errors, IsEmpty());
  EXPECT_EQ(header.config->to_json(true)["key"], "header:X-Tenant");
  EXPECT_EQ(header.config->to_json(true)["burst"], 9);
}

TEST(RateLimitConfig, EqualOnlyWhenEveryOptionIs) {
  Parsed a = parse_yaml("{limit: 100, window: 1m, key: ip, policy: local}");
  Parsed b = parse_yaml("{limit: 100, window: 60s, burst: 100, key: ip}");
  Parsed c = parse_yaml("{limit: 100, window: 1m, key: \"header:X-A\"}");
  Parsed d = parse_yaml("{limit: 100, window: 1m, key: ip, max_keys: 10}");
  EXPECT_TRUE(a.config->equals(*b.config));
  EXPECT_FALSE(a.config->equals(*c.config));
  EXPECT_FALSE(a.config->equals(*d.config));
}

// ---- GCRA.

TEST(Gcra, RateRoundsTheIntervalUp) {
  Rate r = Rate::of(3, 1000, 2);
  EXPECT_EQ(r.interval_ns, 334);  // never faster than 3 per 1000 ns
  EXPECT_EQ(r.tolerance_ns, 668);
  EXPECT_EQ(Rate::of(100, 60 * kSecond, 100).interval_ns, 600 * kMs);
}

TEST(Gcra, BurstAtOnceThenOneEveryInterval) {
  Rate r = Rate::of(100, 60 * kSecond, 100);  // 100/min, burst 100: one every 600 ms
  int64_t tat = 0;
  for (uint64_t i = 1; i <= 100; ++i) {
    int64_t next = 0;
    Decision d = gcra(r, tat, kT0, &next);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, 100 - i);
    EXPECT_EQ(d.reset_ns, static_cast<int64_t>(i) * 600 * kMs);  // until the bucket is full
    tat = next;
  }
  int64_t untouched = -1;
  Decision refused = gcra(r, tat, kT0, &untouched);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(untouched, -1);
  EXPECT_EQ(refused.remaining, 0u);
  EXPECT_EQ(refused.retry_after_ns, 600 * kMs);
  EXPECT_EQ(refused.reset_ns, 60 * kSecond);
  // 599 ms later: still refused, 1 ms to wait; at 600 ms, one more request.
  EXPECT_EQ(gcra(r, tat, kT0 + 599 * kMs, &untouched).retry_after_ns, 1 * kMs);
  int64_t next = 0;
  Decision later = gcra(r, tat, kT0 + 600 * kMs, &next);
  EXPECT_TRUE(later.allowed);
  EXPECT_EQ(later.remaining, 0u);
  EXPECT_EQ(next, tat + 600 * kMs);
}

TEST(Gcra, IdleKeyRefillsToTheBurstAndNoFurther) {
  Rate r = Rate::of(10, kSecond, 3);  // 10/s, burst 3
  int64_t next = 0;
  // A TAT long past is a full bucket, not credit for the time the key was idle.
  Decision d = gcra(r, kT0 - 3600 * kSecond, kT0, &next);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.remaining, 2u);
  EXPECT_EQ(next, kT0 + 100 * kMs);
}

// ---- The limiter.

TEST(Limiter, CountsEachKeyApart) {
  Limiter limiter(Rate::of(2, kSecond, 2), 100);
  EXPECT_TRUE(limiter.take(7, kT0).allowed);
  EXPECT_TRUE(limiter.take(7, kT0).allowed);
  EXPECT_FALSE(limiter.take(7, kT0).allowed);
  EXPECT_TRUE(limiter.take(8, kT0).allowed);
  EXPECT_EQ(limiter.take(8, kT0).remaining, 0u);
  EXPECT_TRUE(limiter.take(0, kT0).allowed);  // 0 is a key like any other
  EXPECT_TRUE(limiter.take(0, kT0).allowed);
  EXPECT_FALSE(limiter.take(0, kT0).allowed);
  EXPECT_TRUE(limiter.take(7, kT0 + 500 * kMs).allowed);  // one interval later
}

TEST(Limiter, PeekDoesNotCount) {
  Limiter limiter(Rate::of(5, kSecond, 5), 100);
  EXPECT_EQ(limiter.peek(1, kT0).remaining, 5u);  // unknown: a full bucket
  EXPECT_EQ(limiter.peek(1, kT0).reset_ns, 0);
  limiter.take(1, kT0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.peek(1, kT0).remaining, 4u);
  EXPECT_EQ(limiter.peek(1, kT0).reset_ns, 200 * kMs);
  EXPECT_EQ(limiter.peek(1, kT0 + 200 * kMs).remaining, 5u);
}

TEST(Limiter, ThreadsHammeringOneKeyGetExactlyTheBurst) {
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  Limiter limiter(Rate::of(1000, 60 * kSecond, 1000), 1);
  std::atomic<int> allowed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) {
      }
      int mine = 0;
      for (int i = 0; i < kEach; ++i) mine += limiter.take(42, kT0).allowed;
      allowed += mine;
    });
  }
  go = true;
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);
}

TEST(Limiter, ThreadsRacingOnNewKeysPlaceEachOnce) {
  // Every thread meets every key for the first time at about the same moment: a key placed
  // twice would let through more than its burst.
  constexpr int kThreads = 4;
  constexpr uint64_t kKeys = 512;
  constexpr int kRounds = 8;
  Limiter limiter(Rate::of(5, 60 * kSecond, 5), 4096);
  std::vector<std::atomic<int>> allowed(kKeys);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) {
      }
      for (int round = 0; round < kRounds; ++round) {
        for (uint64_t k = 0; k < kKeys; ++k) {
          uint64_t key = k * 0x9E3779B97F4A7C15ull;
          if (limiter.take(key, kT0).allowed) ++allowed[k];
        }
      }
    });
  }
  go = true;
  for (std::thread& t : threads) t.join();
  for (uint64_t k = 0; k < kKeys; ++k) EXPECT_EQ(allowed[k].load(), 5) << "key " << k;
  EXPECT_EQ(limiter.untracked(), 0u);
}

TEST(Limiter, ThreadsOverTimeStayWithinTheRate) {
  // With time moving, a key gets its burst plus one request per interval elapsed: exactly, since
  // every allowed request moves the one TAT by one interval.
  constexpr int kThreads = 4;
  Rate rate = Rate::of(1000, kSecond, 10);  // one per ms, burst 10
  Limiter limiter(rate, 1);
  std::atomic<int64_t> clock{kT0};
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        int64_t now = clock.fetch_add(10'000);  // 10 µs per request, across all threads
        allowed += limiter.take(1, now).allowed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  int64_t elapsed = clock.load() - kT0;  // 800 ms
  // Each allowed request is one interval of TAT: at most burst + elapsed / interval, and the
  // last TAT is within one interval of the end.
  EXPECT_LE(allowed.load(), 10 + elapsed / rate.interval_ns);
  EXPECT_GE(allowed.load(), 10 + elapsed / rate.interval_ns - 2);
}

TEST(Limiter, AFullTableLetsNewKeysThroughUncountedUntilASlotIsIdle) {
  Rate rate = Rate::of(1, kSecond, 1);
  Limiter limiter(rate, 1);  // one group of kWays slots
  ASSERT_EQ(limiter.capacity(), Limiter::kWays);
  for (uint64_t k = 1; k <= Limiter::kWays; ++k) {
    Decision d = limiter.take(k << 20, kT0);  // all in the one group
    EXPECT_TRUE(d.allowed && d.tracked) << k;
  }
  Decision extra = limiter.take(999u << 20, kT0);
  EXPECT_TRUE(extra.allowed);
  EXPECT_FALSE(extra.tracked);
  EXPECT_TRUE(limiter.take(999u << 20, kT0).allowed);  // still untracked: fail open
  EXPECT_EQ(limiter.untracked(), 2u);
  EXPECT_FALSE(limiter.take(1u << 20, kT0).allowed);  // keys that have a slot are still limited
  // Once the buckets are full again their slots are free to take: the new key is counted.
  Decision later = limiter.take(999u << 20, kT0 + kSecond);
  EXPECT_TRUE(later.tracked);
  EXPECT_FALSE(limiter.take(999u << 20, kT0 + kSecond).allowed);
  EXPECT_EQ(limiter.untracked(), 2u);
}

TEST(Limiter, MemoryIsFixedByMaxKeys) {
  Rate rate = Rate::of(1, kSecond, 1);
  EXPECT_EQ(Limiter(rate, 1).capacity(), 16u);
  EXPECT_EQ(Limiter(rate, 17).capacity(), 32u);
  EXPECT_EQ(Limiter(rate, 65536).capacity(), 65536u);
  // A flood of distinct keys: the table never holds more than its capacity, and once it is
  // full the rest pass uncounted.
  Limiter small(rate, 64);
  uint64_t untracked = 0;
  for (uint64_t k = 1; k <= 100000; ++k)
    untracked += !small.take(k * 0x9E3779B97F4A7C15ull, kT0).tracked;
  EXPECT_EQ(small.untracked(), untracked);
  EXPECT_EQ(100000 - untracked, small.capacity());
}

// ---- The plugin.

class RateLimitPluginTest : public ::testing::Test {
 protected:
  void configure(const std::string& yaml) {
    Parsed parsed = parse_yaml(yaml);
    ASSERT_THAT(parsed.errors, IsEmpty());
    config_ = parsed.config;
    plugin_ = make(*config_);
  }
  // One request from `ip` with `fields`: its verdict, and the response fields it was given.
  struct Outcome {
    Verdict verdict;
    std::vector<std::string> fields;  // "Name: value"
  };
  Outcome request(const char* ip,
                  std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {},
                  std::string_view consumer = {}) {
    http::HeaderList headers;
    for (const auto& [name, value] : fields) {
      headers.push({name, value, nullptr, http::classify_header(name)});
    }
    Context ctx;
    ctx.headers = &headers;
    ctx.client_ip = ip;
    ctx.client_address = *config::parse_ip(ip).value;
    ctx.client_address_known = true;
    ctx.consumer = consumer;
    Outcome out{plugin_->on_request(ctx), {}};
    ctx.status = out.verdict.kind == Verdict::Kind::kContinue ? 200 : 429;
    plugin_->on_response(ctx);
    ctx.response_headers.for_each_line([&](std::string_view name, std::string_view value) {
      out.fields.push_back(std::string(name) + ": " + std::string(value));
    });
    return out;
  }
  bool allowed(const char* ip,
               std::initializer_list<std::pair<std::string_view, std::string_view>> fields = {},
               std::string_view consumer = {}) {
    return request(ip, fields, consumer).verdict.kind == Verdict::Kind::kContinue;
  }

  std::shared_ptr<const config::PluginConfig> config_;
  std::shared_ptr<const Plugin> plugin_;
};

TEST_F(RateLimitPluginTest, FieldsOnAllowedAndRefusedRequests) {
  configure("{limit: 3, window: 1h, key: ip}");  // one request every 20 minutes
  EXPECT_THAT(request("192.0.2.1").fields,
              ElementsAre("RateLimit-Limit: 3", "RateLimit-Remaining: 2", "RateLimit-Reset: 1200"));
  EXPECT_THAT(request("192.0.2.1").fields,
              ElementsAre("RateLimit-Limit: 3", "RateLimit-Remaining: 1", "RateLimit-Reset: 2400"));
  EXPECT_THAT(request("192.0.2.1").fields,
              ElementsAre("RateLimit-Limit: 3", "RateLimit-Remaining: 0", "RateLimit-Reset: 3600"));
  Outcome refused = request("192.0.2.1");
  EXPECT_EQ(refused.verdict.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(refused.verdict.error, http::Error::kRateLimited);
  EXPECT_EQ(refused.verdict.message, "rate limit exceeded");
  // Up to a second of the clock may have passed since the first request: whole seconds round up.
  EXPECT_THAT(refused.fields,
              ElementsAre("RateLimit-Limit: 3", "RateLimit-Remaining: 0",
                          ::testing::AnyOf("RateLimit-Reset: 3600", "RateLimit-Reset: 3599"),
                          ::testing::AnyOf("Retry-After: 1200", "Retry-After: 1199")));
}

TEST_F(RateLimitPluginTest, TheResponsePhaseShowsTheBucketOfARequestRefusedEarlier) {
  configure("{limit: 2, window: 1h, key: ip}");
  ASSERT_TRUE(allowed("192.0.2.1"));
  // ip_restriction or authentication refused this one: rate_limit's request phase never ran.
  http::HeaderList headers;
  Context ctx;
  ctx.headers = &headers;
  ctx.client_ip = "192.0.2.1";
  ctx.client_address = *config::parse_ip("192.0.2.1").value;
  ctx.client_address_known = true;
  ctx.status = 403;
  for (int i = 0; i < 3; ++i) plugin_->on_response(ctx);
  std::vector<std::string> fields;
  ctx.response_headers.for_each_line([&](std::string_view name, std::string_view value) {
    fields.push_back(std::string(name) + ": " + std::string(value));
  });
  EXPECT_THAT(fields, ElementsAre("RateLimit-Limit: 2", "RateLimit-Remaining: 1",
                                  ::testing::StartsWith("RateLimit-Reset: 18")));
  EXPECT_TRUE(allowed("192.0.2.1"));  // not counted
  EXPECT_FALSE(allowed("192.0.2.1"));
}

TEST_F(RateLimitPluginTest, IpKeysAreIndependent) {
  configure("{limit: 1, window: 1h, key: ip}");
  EXPECT_TRUE(allowed("192.0.2.1"));
  EXPECT_FALSE(allowed("192.0.2.1"));
  EXPECT_TRUE(allowed("192.0.2.2"));
  EXPECT_TRUE(allowed("2001:db8::1"));
  EXPECT_FALSE(allowed("2001:db8::1"));
}

TEST_F(RateLimitPluginTest, HeaderKeysAreIndependentAndAMissingHeaderCountsTheAddress) {
  configure("{limit: 1, window: 1h, key: \"header:X-Tenant\"}");
  EXPECT_TRUE(allowed("192.0.2.1", {{"X-Tenant", "a"}}));
  EXPECT_FALSE(allowed("192.0.2.2", {{"x-tenant", "a"}}));  // the same tenant from elsewhere
  EXPECT_TRUE(allowed("192.0.2.1", {{"X-Tenant", "b"}}));
  EXPECT_TRUE(allowed("192.0.2.1"));  // no header: the address, apart from the header values
  EXPECT_FALSE(allowed("192.0.2.1", {{"X-Tenant", ""}}));
  EXPECT_TRUE(allowed("192.0.2.3"));
}

TEST_F(RateLimitPluginTest, ConsumerKeysFallBackToTheAddress) {
  configure("{limit: 1, window: 1h}");  // key: consumer
  EXPECT_TRUE(allowed("192.0.2.1", {}, "mobile-app"));
  EXPECT_FALSE(allowed("192.0.2.2", {}, "mobile-app"));
  EXPECT_TRUE(allowed("192.0.2.1", {}, "web"));
  EXPECT_TRUE(allowed("192.0.2.1"));  // no consumer: counted under the address
  EXPECT_FALSE(allowed("192.0.2.1"));
  EXPECT_TRUE(allowed("192.0.2.2"));
}

TEST_F(RateLimitPluginTest, RouteAndGlobalKeysShareOneBucket) {
  for (const char* key : {"route", "global"}) {
    configure(std::string("{limit: 2, window: 1h, key: ") + key + "}");
    EXPECT_TRUE(allowed("192.0.2.1")) << key;
    EXPECT_TRUE(allowed("192.0.2.2", {}, "web")) << key;
    EXPECT_FALSE(allowed("2001:db8::1")) << key;
  }
}

}  // namespace
}  // namespace turnpike::plugins::rate_limit
