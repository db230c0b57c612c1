// acl: its configuration (errors at their paths, the JSON it shows) and its verdicts for
// consumers in allowed, denied and other groups, and for a request with no consumer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "plugin_test_util.h"
#include "plugins/acl/config.h"
#include "plugins/acl/plugin.h"

namespace turnpike::plugins::acl {
namespace {

using ::testing::IsEmpty;

using testing_util::BadConfig;
using testing_util::Parsed;

constexpr const char* kPath = "routes[0].plugins.acl";

Parsed parse_yaml(const std::string& yaml) { return testing_util::parse_block(parse, yaml, kPath); }

class AclConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(AclConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), kPath);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, AclConfigTest,
    ::testing::Values(
        BadConfig{"Empty", "{}", "routes[0].plugins.acl: allow_groups or deny_groups is required"},
        BadConfig{"EmptyLists", "{allow_groups: [], deny_groups: []}",
                  "routes[0].plugins.acl: allow_groups or deny_groups is required"},
        BadConfig{"NotAList", "{allow_groups: premium}",
                  "routes[0].plugins.acl.allow_groups: expected a list, got a scalar"},
        BadConfig{"EmptyGroup", "{deny_groups: [a, \"\"]}",
                  "routes[0].plugins.acl.deny_groups[1]: must not be empty"},
        BadConfig{
            "UnknownKey", "{allow_group: [premium]}",
            "routes[0].plugins.acl.allow_group: unknown key (did you mean \"allow_groups\"?)"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(AclConfig, ShowsTheListsAndComparesThem) {
  Parsed a = parse_yaml("{allow_groups: [premium, gold]}");
  Parsed b = parse_yaml("{allow_groups: [premium, gold]}");
  Parsed c = parse_yaml("{allow_groups: [premium], deny_groups: [gold]}");
  ASSERT_THAT(a.errors, IsEmpty());
  ASSERT_THAT(c.errors, IsEmpty());
  EXPECT_EQ(a.config->to_json(true),
            nlohmann::json::parse(R"({"allow_groups": ["premium", "gold"], "deny_groups": []})"));
  EXPECT_TRUE(a.config->equals(*b.config));
  EXPECT_FALSE(a.config->equals(*c.config));
}

struct Case {
  const char* name;
  const char* yaml;
  std::vector<std::string> groups;  // the consumer's
  bool allowed;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.yaml; }

class AclVerdictTest : public ::testing::TestWithParam<Case> {};

TEST_P(AclVerdictTest, AllowsOrRefuses) {
  Parsed parsed = parse_yaml(GetParam().yaml);
  ASSERT_THAT(parsed.errors, IsEmpty());
  config::Consumer consumer{"app", {"k"}, GetParam().groups};
  Context ctx;
  ctx.consumer = consumer.name;
  ctx.consumer_entry = &consumer;
  Verdict v = make(*parsed.config)->on_request(ctx);
  if (GetParam().allowed) {
    EXPECT_EQ(v.kind, Verdict::Kind::kContinue);
  } else {
    EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
    EXPECT_EQ(v.error, http::Error::kForbidden);
    EXPECT_EQ(v.message, "consumer not allowed");
  }
  EXPECT_EQ(ctx.consumer_entry, &consumer);  // acl reads the consumer, never changes it
  EXPECT_TRUE(ctx.response_headers.empty());
}

constexpr const char* kAllow = "{allow_groups: [premium, partner]}";
constexpr const char* kDeny = "{deny_groups: [banned]}";
constexpr const char* kBoth = "{allow_groups: [premium], deny_groups: [banned]}";

INSTANTIATE_TEST_SUITE_P(
    Verdicts, AclVerdictTest,
    ::testing::Values(Case{"InAnAllowedGroup", kAllow, {"partner"}, true},
                      Case{"OneOfSeveralGroupsAllowed", kAllow, {"free", "premium"}, true},
                      Case{"NoAllowedGroup", kAllow, {"free"}, false},
                      Case{"NoGroupsAgainstAnAllowList", kAllow, {}, false},
                      Case{"GroupNamesAreCaseSensitive", kAllow, {"Premium"}, false},
                      Case{"DenyOnlyLetsOthersIn", kDeny, {"free"}, true},
                      Case{"DenyOnlyLetsNoGroupsIn", kDeny, {}, true},
                      Case{"InADeniedGroup", kDeny, {"free", "banned"}, false},
                      Case{"DenyWinsOverAllow", kBoth, {"premium", "banned"}, false},
                      Case{"AllowedAndNotDenied", kBoth, {"premium"}, true}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Acl, RefusesARequestWithoutConsumer) {
  for (const char* yaml : {kAllow, kDeny}) {
    Parsed parsed = parse_yaml(yaml);
    ASSERT_THAT(parsed.errors, IsEmpty());
    Context ctx;
    Verdict v = make(*parsed.config)->on_request(ctx);
    EXPECT_EQ(v.kind, Verdict::Kind::kRefuse) << yaml;
    EXPECT_EQ(v.error, http::Error::kForbidden) << yaml;
    EXPECT_EQ(v.message, "no authenticated consumer") << yaml;
  }
}

}  // namespace
}  // namespace turnpike::plugins::acl
