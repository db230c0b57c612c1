// ip_restriction: its configuration (errors at their paths, the JSON it shows) and its verdicts
// for IPv4 and IPv6 clients, deny before allow.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "config/values.h"
#include "plugin_test_util.h"
#include "plugins/ip_restriction/config.h"
#include "plugins/ip_restriction/plugin.h"

namespace turnpike::plugins::ip_restriction {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using testing_util::BadConfig;
using testing_util::Parsed;

// The block at plugins.ip_restriction, read from `yaml`, with its errors.
Parsed parse_yaml(const std::string& yaml) {
  return testing_util::parse_block(parse, yaml, "plugins.ip_restriction");
}



class IpRestrictionConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(IpRestrictionConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), "plugins.ip_restriction");
}

INSTANTIATE_TEST_SUITE_P(
    Errors, IpRestrictionConfigTest,
    ::testing::Values(
        BadConfig{"Empty", "{}", "plugins.ip_restriction: allow or deny is required"},
        BadConfig{"Null", "~", "plugins.ip_restriction: allow or deny is required"},
        BadConfig{"EmptyLists", "{allow: [], deny: []}",
                  "plugins.ip_restriction: allow or deny is required"},
        BadConfig{"PrefixTooLong", "{allow: [10.0.0.0/33]}",
                  "plugins.ip_restriction.allow[0]: invalid CIDR \"10.0.0.0/33\": prefix length "
                  "must be 0..32"},
        BadConfig{"NotAnAddress", "{deny: [::1/128, example.com]}",
                  "plugins.ip_restriction.deny[1]: invalid CIDR \"example.com\": invalid IP "
                  "address \"example.com\""},
        BadConfig{"NotAList", "{deny: 10.0.0.0/8}",
                  "plugins.ip_restriction.deny: expected a list, got a scalar"},
        BadConfig{"UnknownKey", "{alow: [10.0.0.0/8], deny: [10.1.0.0/16]}",
                  "plugins.ip_restriction.alow: unknown key (did you mean \"allow\"?)"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(IpRestrictionConfig, ShowsTheListsAndComparesThem) {
  Parsed a = parse_yaml("{allow: [10.0.0.0/8, \"2001:db8::/32\"]}");
  Parsed b = parse_yaml("{allow: [10.1.2.3/8, \"2001:db8::/32\"]}");  // the same ranges
  Parsed c = parse_yaml("{allow: [10.0.0.0/8], deny: [\"2001:db8::/32\"]}");
  ASSERT_THAT(a.errors, IsEmpty());
  ASSERT_THAT(b.errors, IsEmpty());
  ASSERT_THAT(c.errors, IsEmpty());
  nlohmann::json shown = a.config->to_json(true);
  EXPECT_EQ(shown["allow"][0], "10.0.0.0/8");
  EXPECT_EQ(shown["deny"], nlohmann::json::array());
  // However IPv6 is spelled, the text shown reads back as the same range.
  EXPECT_EQ(config::parse_cidr(shown["allow"][1].get<std::string>()).value,
            config::parse_cidr("2001:db8::/32").value);
  EXPECT_TRUE(a.config->equals(*b.config));
  EXPECT_FALSE(a.config->equals(*c.config));
}

struct Case {
  const char* name;
  const char* yaml;
  const char* client_ip;
  bool allowed;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.client_ip << " with " << c.yaml; }

class IpRestrictionVerdictTest : public ::testing::TestWithParam<Case> {};

TEST_P(IpRestrictionVerdictTest, AllowsOrRefuses) {
  Parsed parsed = parse_yaml(GetParam().yaml);
  ASSERT_THAT(parsed.errors, IsEmpty());
  std::shared_ptr<const Plugin> plugin = make(*parsed.config);
  Context ctx;
  ctx.client_ip = GetParam().client_ip;
  Verdict v = plugin->on_request(ctx);
  if (GetParam().allowed) {
    EXPECT_EQ(v.kind, Verdict::Kind::kContinue);
  } else {
    EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
    EXPECT_EQ(v.error, http::Error::kForbidden);
    EXPECT_EQ(v.message, "IP address not allowed");
  }
  EXPECT_TRUE(ctx.request_headers.empty());
  EXPECT_TRUE(ctx.response_headers.empty());
}

constexpr const char* kAllowV4 = "{allow: [10.0.0.0/8, 192.168.1.7]}";
constexpr const char* kAllowV6 = "{allow: [\"2001:db8::/32\"]}";
constexpr const char* kDenyInAllow = "{allow: [10.0.0.0/8], deny: [10.9.0.0/16]}";
constexpr const char* kDenyOnly = "{deny: [203.0.113.0/24, \"::1\"]}";
constexpr const char* kDenyAllV6 = "{deny: [\"::/0\"]}";
constexpr const char* kAllowAllV4 = "{allow: [0.0.0.0/0]}";

INSTANTIATE_TEST_SUITE_P(
    Verdicts, IpRestrictionVerdictTest,
    ::testing::Values(
        Case{"V4InAllowedRange", kAllowV4, "10.200.3.4", true},
        Case{"V4SingleAllowedAddress", kAllowV4, "192.168.1.7", true},
        Case{"V4NextToTheAllowedAddress", kAllowV4, "192.168.1.8", false},
        Case{"V4OutsideTheAllowList", kAllowV4, "11.0.0.1", false},
        Case{"V6AgainstAV4AllowList", kAllowV4, "::1", false},
        Case{"V4MappedV6IsTheV4Address", kAllowV4, "::ffff:10.1.1.1", true},
        Case{"V6InAllowedRange", kAllowV6, "2001:db8:1::5", true},
        Case{"V6UpperCaseText", kAllowV6, "2001:DB8::A", true},
        Case{"V6OutsideTheAllowList", kAllowV6, "2001:db9::1", false},
        Case{"V4AgainstAV6AllowList", kAllowV6, "10.0.0.1", false},
        Case{"DenyWinsOverAllow", kDenyInAllow, "10.9.1.1", false},
        Case{"AllowedBesideTheDeniedRange", kDenyInAllow, "10.8.1.1", true},
        Case{"DenyOnlyLetsOthersIn", kDenyOnly, "198.51.100.1", true},
        Case{"DenyOnlyV4", kDenyOnly, "203.0.113.255", false},
        Case{"DenyOnlyV6Loopback", kDenyOnly, "::1", false},
        Case{"DenyAllV6RefusesV6", kDenyAllV6, "2001:db8::1", false},
        // ::/0 also spans ::ffff:0:0/96, where IPv4 addresses are stored: it must not take them.
        Case{"DenyAllV6LeavesV4", kDenyAllV6, "127.0.0.1", true},
        Case{"AllowAllV4TakesEveryV4", kAllowAllV4, "255.255.255.255", true},
        Case{"AllowAllV4LeavesV6Out", kAllowAllV4, "2001:db8::1", false},
        Case{"UnreadableAddress", kDenyOnly, "not-an-ip", false},
        Case{"EmptyAddress", kDenyOnly, "", false},
        Case{"AddressWithPort", kDenyOnly, "198.51.100.1:8080", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(IpRestriction, UsesTheAddressTheGatewayAlreadyRead) {
  Parsed parsed = parse_yaml("{allow: [10.0.0.0/8]}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  std::shared_ptr<const Plugin> plugin = make(*parsed.config);
  Context ctx;
  ctx.client_ip = "10.0.0.1";  // the text is not read again when the bytes are known
  ctx.client_address = *config::parse_ip("192.0.2.1").value;
  ctx.client_address_known = true;
  EXPECT_EQ(plugin->on_request(ctx).kind, Verdict::Kind::kRefuse);
  ctx.client_address = *config::parse_ip("::ffff:10.2.3.4").value;
  EXPECT_EQ(plugin->on_request(ctx).kind, Verdict::Kind::kContinue);
}

}  // namespace
}  // namespace turnpike::plugins::ip_restriction
