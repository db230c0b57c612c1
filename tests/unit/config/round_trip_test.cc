// GET /config's `config` object loads back unchanged (same canonical hash), secrets shown as
// "***" keep the running values, and the change descriptions a reload logs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/diff.h"
#include "config/json.h"
#include "config/loader.h"

namespace turnpike::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr const char* kRich = R"(
server:
  workers: 2
  listeners: [{name: public, address: "127.0.0.1:8080"}, {name: v6, address: "[::1]:8081"},
              {name: all, address: ":8082"}]
  limits: {max_header_bytes: 16KiB, idle_timeout: 1m30s, max_connections: 500}
  drain_timeout: 0s
  trusted_proxies: [10.0.0.0/8, "::1"]
admin: {address: "127.0.0.1:9901", token: s3cret}
logging: {level: debug, access_log: {path: stderr}}
tracing: {otlp: {endpoint: "http://127.0.0.1:4318/v1/traces", sample_ratio: 0.5}}
upstreams:
  users:
    targets: [{address: "127.0.0.1:9001", weight: 3}, "127.0.0.1:9002"]
    timeouts: {connect: 250ms}
    retries: {attempts: 2, on: [connect_failure, 503]}
consumers: [{name: app, keys: [k1, k2], groups: [premium]}]
routes:
  - {name: users, hosts: ["*.example.com"], methods: [GET], paths: ["/users/{id}"],
     headers: {X-Version: "2"}, upstream: users, timeout: 5s}
  - {name: legacy, path: "/v1/**", upstream: "http://127.0.0.1:9003/api", strip_prefix: true}
  - {name: rx, regex: '^/v2/\d+$', upstream: "builtin:echo"}
)";

Config load_ok(const std::string& text, const Config* running = nullptr) {
  LoadOptions options;
  options.running = running;
  LoadResult result = load_string(text, options);
  EXPECT_THAT(result.errors, IsEmpty()) << text;
  return result.config.value_or(Config{});
}

TEST(RoundTrip, TheDumpLoadsBackToTheSameHash) {
  Config original = load_ok(kRich);
  std::string dump = to_json(original, false).dump();
  Config again = load_ok(dump);
  EXPECT_EQ(canonical_hash(again), canonical_hash(original));
  EXPECT_EQ(to_json(again, false), to_json(original, false));
}

TEST(RoundTrip, RedactedSecretsKeepTheRunningValues) {
  Config running = load_ok(kRich);
  std::string dump = to_json(running, true).dump();
  EXPECT_THAT(dump, ::testing::Not(::testing::HasSubstr("s3cret")));
  Config again = load_ok(dump, &running);
  EXPECT_EQ(again.admin.token, "s3cret");
  EXPECT_THAT(again.consumers[0].keys, ElementsAre("k1", "k2"));
  EXPECT_EQ(canonical_hash(again), canonical_hash(running));
}

TEST(RoundTrip, RedactedSecretWithoutARunningValueIsAnError) {
  LoadResult result = load_string(
      "admin: {address: '127.0.0.1:9901', token: '***'}\n"
      "consumers: [{name: new, keys: ['***']}]\n");
  EXPECT_THAT(result.errors,
              ElementsAre(ConfigError{"admin.token",
                                      "\"***\" stands for a secret of the running configuration, "
                                      "and there is none to keep here: write the secret itself"},
                          ConfigError{"consumers[0].keys[0]",
                                      "\"***\" stands for a secret of the running configuration, "
                                      "and there is none to keep here: write the secret itself"}));
}

TEST(RestartOnly, ListenersAndWorkersKeepTheirRunningValues) {
  Config running = load_ok("server: {workers: 2, listeners: [{name: a, address: '127.0.0.1:1'}]}");
  Config next = load_ok("server: {workers: 4, listeners: [{name: a, address: '127.0.0.1:2'}]}");
  std::vector<RestartPending> pending = keep_restart_only(running, next);
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].key, "server.listeners");
  EXPECT_EQ(pending[0].wanted.dump(), R"([{"address":"127.0.0.1:2","name":"a"}])");
  EXPECT_EQ(pending[0].running.dump(), R"([{"address":"127.0.0.1:1","name":"a"}])");
  EXPECT_EQ(pending[1].key, "server.workers");
  EXPECT_EQ(next.server.listeners, running.server.listeners);
  EXPECT_EQ(next.server.workers, 2);
  EXPECT_THAT(keep_restart_only(running, next), IsEmpty());
}

TEST(Changes, OneLinePerSettingRoutesByName) {
  Config before = load_ok(kRich);
  Config after = load_ok(std::string(kRich) + "  - {name: added, path: /new, upstream: users}\n");
  after.routes[0].paths = {"/people/{id}"};
  after.admin.token = "changed";
  after.server.limits.max_connections = 600;
  EXPECT_THAT(describe_changes(before, after),
              ElementsAre("routes[users].paths: [\"/users/{id}\"] -> [\"/people/{id}\"]",
                          "routes[added]: added", "server.limits.max_connections: 500 -> 600"));
}

}  // namespace
}  // namespace turnpike::config
