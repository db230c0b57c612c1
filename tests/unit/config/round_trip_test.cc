// GET /config's `config` object loads back unchanged (same canonical hash), secrets shown as
// "***" keep the running values, and the change descriptions a reload logs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/diff.h"
#include "config/json.h"
#include "config/loader.h"
#include "config/plugin_catalog.h"

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

// A plugin with a secret (as jwt's `secret`, a redis password): its dump shows "***".
struct SecretiveConfig final : PluginConfig {
  std::string token;
  std::vector<std::string> list;
  bool equals(const PluginConfig& o) const override {
    auto* other = dynamic_cast<const SecretiveConfig*>(&o);
    return other && other->token == token && other->list == list;
  }
  nlohmann::json to_json(bool redact) const override {
    nlohmann::json list_json = nlohmann::json::array();
    for (const std::string& v : list) list_json.push_back(redact ? "***" : v);
    return {{"inner", {{"token", redact ? "***" : token}}}, {"list", list_json}};
  }
};

PluginCatalog secretive_catalog() {
  PluginCatalog catalog;
  catalog.add("secretive", [](const Reader& block) -> std::shared_ptr<const PluginConfig> {
    auto out = std::make_shared<SecretiveConfig>();
    out->token = block.child("inner").child("token").string().value_or("");
    if (out->token == "***") block.child("inner").child("token").error("nothing to keep");
    if (auto list = block.child("list").string_list()) out->list = *list;
    return block.has_errors() ? nullptr : out;
  });
  return catalog;
}

TEST(RoundTrip, RedactedPluginSecretsKeepTheRunningRoutesValues) {
  PluginCatalog catalog = secretive_catalog();
  LoadOptions options;
  options.plugins = &catalog;
  const char* text = R"(
plugins: {secretive: {inner: {token: global-secret}, list: [g1]}}
routes:
  - {name: a, path: "/a", upstream: "builtin:echo",
     plugins: {secretive: {inner: {token: secret-a}, list: [x, y]}}}
  - {name: b, path: "/b", upstream: "builtin:echo",
     plugins: {secretive: {inner: {token: secret-b}, list: []}}}
)";
  LoadResult first = load_string(text, options);
  ASSERT_THAT(first.errors, IsEmpty());
  Config running = *first.config;
  std::string dump = to_json(running, true).dump();
  EXPECT_THAT(dump, ::testing::Not(::testing::HasSubstr("secret-a")));

  options.running = &running;
  LoadResult again = load_string(dump, options);
  ASSERT_THAT(again.errors, IsEmpty());
  auto token = [](const std::vector<PluginEntry>& plugins) {
    return static_cast<const SecretiveConfig&>(*plugins.at(0).config).token;
  };
  EXPECT_EQ(token(again.config->plugins), "global-secret");
  EXPECT_EQ(token(again.config->routes[0].plugins), "secret-a");
  EXPECT_EQ(token(again.config->routes[1].plugins), "secret-b");
  EXPECT_EQ(static_cast<const SecretiveConfig&>(*again.config->routes[0].plugins[0].config).list,
            (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(canonical_hash(*again.config), canonical_hash(running));

  // A route new to this configuration has no running secret: its "***" is the plugin's error.
  LoadResult fresh = load_string(
      "routes: [{name: c, path: /c, upstream: 'builtin:echo', "
      "plugins: {secretive: {inner: {token: '***'}}}}]",
      options);
  EXPECT_THAT(fresh.errors,
              ElementsAre(ConfigError{"routes[0].plugins.secretive.inner.token", "nothing to keep"}));
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
