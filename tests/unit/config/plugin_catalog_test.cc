#include <nlohmann/json.hpp>
#include "config/plugin_catalog.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace turnpike::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct LimitConfig : PluginConfig {
  int64_t limit = 0;
  bool equals(const PluginConfig& other) const override {
    auto* o = dynamic_cast<const LimitConfig*>(&other);
    return o != nullptr && o->limit == limit;
  }
  nlohmann::json to_json(bool) const override { return nlohmann::json::object(); }
};

std::shared_ptr<const PluginConfig> parse_limit(const Reader& block) {
  if (!block.expect_map({"limit"})) return nullptr;
  auto config = std::make_shared<LimitConfig>();
  config->limit = block.required("limit").integer(1, 1000).value_or(0);
  if (block.has_errors()) return nullptr;
  return config;
}

struct Fixture {
  explicit Fixture(const std::string& yaml)
      : node(YAML::Load(yaml)), root(Reader::root(node, errors, {}, "plugins")) {
    catalog.add("rate_limit", parse_limit);
  }
  PluginCatalog catalog;
  YAML::Node node;
  std::vector<ConfigError> errors;
  Reader root;
};

TEST(PluginCatalog, ParsesRegisteredPluginsInOrder) {
  Fixture f("rate_limit: {limit: 5}\naccess_log: {}");
  f.catalog.add("access_log", [](const Reader& block) -> std::shared_ptr<const PluginConfig> {
    block.expect_map({});
    return std::make_shared<LimitConfig>();
  });
  std::vector<PluginEntry> entries = f.catalog.parse(f.root);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "rate_limit");
  EXPECT_EQ(dynamic_cast<const LimitConfig&>(*entries[0].config).limit, 5);
  EXPECT_EQ(entries[1].name, "access_log");
  EXPECT_THAT(f.errors, IsEmpty());
  EXPECT_TRUE(f.catalog.contains("rate_limit"));
  EXPECT_FALSE(f.catalog.contains("jwt"));
  EXPECT_EQ(f.catalog.names(), (std::vector<std::string>{"access_log", "rate_limit"}));
}

TEST(PluginCatalog, UnknownUnavailableAndInvalid) {
  Fixture f("jwtt: {}\njwt: {}\nrate_limit: {limit: 0}\nrate_limt: {}\nfoo: {}");
  EXPECT_THAT(f.catalog.parse(f.root), IsEmpty());
  EXPECT_THAT(
      f.errors,
      ElementsAre(ConfigError{"plugins.jwtt",
                              "unknown plugin \"jwtt\" (did you mean \"jwt\"? It is not "
                              "available in this build yet.)"},
                  ConfigError{"plugins.jwt", "plugin \"jwt\" is not available in this build yet"},
                  ConfigError{"plugins.rate_limit.limit", "must be an integer between 1 and 1000"},
                  ConfigError{"plugins.rate_limt",
                              "unknown plugin \"rate_limt\" (did you mean \"rate_limit\"?)"},
                  ConfigError{"plugins.foo", "unknown plugin \"foo\""}));
}

TEST(PluginCatalog, ANullOrAThrowNeverPassesAsSuccess) {
  Fixture f("quiet: {}\nthrows: {}");
  f.catalog.add("quiet", [](const Reader&) { return nullptr; });
  f.catalog.add("throws", [](const Reader&) -> std::shared_ptr<const PluginConfig> {
    throw std::runtime_error("boom");
  });
  EXPECT_THAT(f.catalog.parse(f.root), IsEmpty());
  EXPECT_THAT(f.errors, ElementsAre(ConfigError{"plugins.quiet", "invalid configuration"},
                                    ConfigError{"plugins.throws", "invalid configuration: boom"}));
}

TEST(PluginCatalog, SpecNames) { EXPECT_EQ(PluginCatalog::spec_names().size(), 9u); }

}  // namespace
}  // namespace turnpike::config
