// SPEC §1: a bad configuration is reported with every error at once. A route whose upstream is
// unknown still has its path patterns, regex and plugins checked (issue: `paths: ["/api/{id"]`
// beside `upstream: userz` once reported only the upstream).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "config/loader.h"
#include "config/plugin_catalog.h"

namespace turnpike::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct NoConfig : PluginConfig {
  bool equals(const PluginConfig& other) const override {
    return dynamic_cast<const NoConfig*>(&other) != nullptr;
  }
  nlohmann::json to_json(bool) const override { return nlohmann::json::object(); }
};

std::shared_ptr<const PluginConfig> parse_limit(const Reader& block) {
  if (!block.expect_map({"limit"})) return nullptr;
  block.required("limit").integer(1, 100);
  return block.has_errors() ? nullptr : std::make_shared<NoConfig>();
}

// Stands in for the router's pattern parser (routing::pattern_error), which this library does
// not link: an unclosed '{' is the one error it knows.
std::string unclosed_brace(std::string_view pattern) {
  std::size_t open = pattern.find('{');
  if (open != std::string_view::npos && pattern.find('}', open) == std::string_view::npos) {
    return "a parameter must be a whole segment, e.g. /users/{id}";
  }
  return "";
}

class AllErrorsTest : public ::testing::Test {
 protected:
  AllErrorsTest() {
    catalog_.add("limit", parse_limit);
    options_.plugins = &catalog_;
    options_.path_pattern_error = unclosed_brace;
  }
  LoadResult load(std::string_view yaml) { return load_string(yaml, options_); }

  PluginCatalog catalog_;
  LoadOptions options_;
};

TEST_F(AllErrorsTest, UnknownUpstreamDoesNotHideThePathPattern) {
  LoadResult result = load(R"(
routes:
  - {paths: ["/api/{id"], upstream: userz}
)");
  EXPECT_FALSE(result.config);
  EXPECT_THAT(result.errors,
              ElementsAre(ConfigError{"routes[0].paths[0]",
                                      "a parameter must be a whole segment, e.g. /users/{id}"},
                          ConfigError{"routes[0].upstream", "unknown upstream \"userz\""}));
}

TEST_F(AllErrorsTest, EveryPartOfABadRouteIsReported) {
  LoadResult result = load(R"(
upstreams: {users: {targets: ["127.0.0.1:9001"]}}
routes:
  - name: broken
    paths: ["/ok/**", "/api/{id", "/x/{y"]
    regex: "(a"
    upstream: userz
    timeout: 5x
    plugins: {limit: {limit: 0}, nope: {}}
  - {path: "/b/{z", upstream: users}
)");
  EXPECT_FALSE(result.config);
  EXPECT_THAT(
      result.errors,
      ElementsAre(
          ConfigError{"routes[0].paths[1]", "a parameter must be a whole segment, e.g. /users/{id}"},
          ConfigError{"routes[0].paths[2]", "a parameter must be a whole segment, e.g. /users/{id}"},
          ConfigError{"routes[0].regex", "invalid regex: missing ): (a"},
          ConfigError{"routes[0].upstream",
                      "unknown upstream \"userz\" (did you mean \"users\"?)"},
          ConfigError{"routes[0].timeout",
                      "invalid duration \"5x\": unknown unit \"x\" (use ms, s, m, h)"},
          ConfigError{"routes[0].plugins.limit.limit", "must be an integer between 1 and 100"},
          ConfigError{"routes[0].plugins.nope", "unknown plugin \"nope\""},
          ConfigError{"routes[1].path", "a parameter must be a whole segment, e.g. /users/{id}"}))
      << format_errors(result.errors);
}

TEST_F(AllErrorsTest, ValidPatternsPassTheCheck) {
  LoadResult result = load(R"(
routes:
  - {paths: ["/users/{id}", "/api/**"], upstream: "builtin:echo"}
)");
  EXPECT_THAT(result.errors, IsEmpty()) << format_errors(result.errors);
}

TEST_F(AllErrorsTest, WithoutACheckOnlyTheLeadingSlashIsCheckedHere) {
  // The router then checks the pattern when it is built (after the loader found nothing wrong).
  options_.path_pattern_error = nullptr;
  EXPECT_THAT(load("routes: [{paths: [\"/api/{id\"], upstream: \"builtin:echo\"}]").errors,
              IsEmpty());
}

}  // namespace
}  // namespace turnpike::config
