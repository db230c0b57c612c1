// headers: names that may not be edited and values that would inject lines are refused at load;
// the edits are applied remove, then set, then add, to the request or to the response.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "plugin_test_util.h"
#include "plugins/headers/config.h"
#include "plugins/headers/plugin.h"

namespace turnpike::plugins::headers {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using testing_util::BadConfig;
using testing_util::Parsed;

// The block at plugins.headers, read from `yaml`, with its errors.
Parsed parse_yaml(const std::string& yaml) {
  return testing_util::parse_block(parse, yaml, "plugins.headers");
}



class HeadersConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(HeadersConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), "plugins.headers");
}

INSTANTIATE_TEST_SUITE_P(
    Errors, HeadersConfigTest,
    ::testing::Values(
        BadConfig{"SetFraming", "{request: {set: {Content-Length: \"0\"}}}",
                  "plugins.headers.request.set.Content-Length: cannot edit \"Content-Length\": the "
                  "gateway writes the framing of every "
                  "message itself"},
        BadConfig{"AddHopByHop", "{response: {add: {connection: close}}}",
                  "plugins.headers.response.add.connection: cannot edit \"connection\": a "
                  "hop-by-hop field cannot be set by a plugin"},
        BadConfig{"RemoveHost", "{request: {remove: [X-Debug, Host]}}",
                  "plugins.headers.request.remove[1]: cannot edit \"Host\": the gateway forwards "
                  "the Host it routed on"},
        BadConfig{"SetGatewayField", "{request: {set: {X-Forwarded-For: 1.2.3.4}}}",
                  "plugins.headers.request.set.X-Forwarded-For: cannot edit \"X-Forwarded-For\": "
                  "the gateway sets this field itself"},
        BadConfig{"NameNotAToken", "{response: {set: {\"X Bad\": \"1\"}}}",
                  "plugins.headers.response.set[\"X Bad\"]: invalid header name \"X Bad\""},
        BadConfig{"NameWithColon", "{response: {remove: [\"X-A:\"]}}",
                  "plugins.headers.response.remove[0]: invalid header name \"X-A:\""},
        BadConfig{"ValueWithCrLf", "{response: {set: {X-A: \"1\\r\\nSet-Cookie: s=1\"}}}",
                  "plugins.headers.response.set.X-A: header value must not contain control "
                  "characters (CR/LF injection)"},
        BadConfig{"ValueWithBareLf", "{request: {add: {X-A: \"1\\nX-B: 2\"}}}",
                  "plugins.headers.request.add.X-A: header value must not contain control "
                  "characters (CR/LF injection)"},
        BadConfig{"ValueWithNul", "{request: {add: {X-A: \"a\\0b\"}}}",
                  "plugins.headers.request.add.X-A: header value must not contain control "
                  "characters (CR/LF injection)"},
        BadConfig{"ValueWithDel", "{request: {add: {X-A: \"a\\x7fb\"}}}",
                  "plugins.headers.request.add.X-A: header value must not contain control "
                  "characters (CR/LF injection)"},
        BadConfig{"UnknownEditKey", "{request: {replace: {X-A: b}}}",
                  "plugins.headers.request.replace: unknown key"},
        BadConfig{"UnknownTopKey", "{requests: {}}",
                  "plugins.headers.requests: unknown key (did you mean \"request\"?)"}),
    [](const auto& info) { return std::string(info.param.name); });

constexpr const char* kEdits = R"({
  request: {remove: [X-Internal, Cookie], set: {X-Env: prod, X-Tab: "a\tb"}, add: {X-Via: gw}},
  response: {set: {Server: turnpike}, add: {Cache-Control: no-store}, remove: [X-Powered-By]}})";

TEST(HeadersConfig, EditsAreShownAndCompared) {
  Parsed parsed = parse_yaml(kEdits);
  ASSERT_THAT(parsed.errors, IsEmpty());
  const config::PluginConfig& config = *parsed.config;
  EXPECT_EQ(config.to_json(false), nlohmann::json::parse(R"({
    "request": {"set": {"X-Env": "prod", "X-Tab": "a\tb"}, "add": {"X-Via": "gw"},
                "remove": ["X-Internal", "Cookie"]},
    "response": {"set": {"Server": "turnpike"}, "add": {"Cache-Control": "no-store"},
                 "remove": ["X-Powered-By"]}})"));
  EXPECT_TRUE(config.equals(*parse_yaml(kEdits).config));
  EXPECT_FALSE(config.equals(*parse_yaml("{request: {set: {X-Env: prod}}}").config));
}

TEST(HeadersConfig, BothSidesAreOptional) {
  for (const char* yaml : {"{}", "~", "{response: {remove: [Server]}}", "{request: {}}"}) {
    Parsed parsed = parse_yaml(yaml);
    EXPECT_NE(parsed.config, nullptr) << yaml;
    EXPECT_THAT(parsed.errors, IsEmpty()) << yaml;
  }
}

TEST(HeadersConfig, RedactsCredentialValues) {
  Parsed parsed =
      parse_yaml("{request: {set: {Authorization: Bearer s3cret, X-Api-Key: k, X-Env: prod}}}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  const config::PluginConfig& config = *parsed.config;
  EXPECT_EQ(config.to_json(true)["request"]["set"],
            nlohmann::json::parse(R"({"Authorization": "***", "X-Api-Key": "***",
                                      "X-Env": "prod"})"));
  EXPECT_EQ(config.to_json(false)["request"]["set"]["Authorization"], "Bearer s3cret");
}

std::vector<std::string> lines(const HeaderEdits& edits) {
  std::vector<std::string> out;
  edits.for_each_line([&](std::string_view name, std::string_view value) {
    out.push_back(std::string(name) + ": " + std::string(value));
  });
  return out;
}

TEST(Headers, RequestEditsGoUpstreamOnly) {
  Parsed parsed = parse_yaml(kEdits);
  ASSERT_THAT(parsed.errors, IsEmpty());
  const config::PluginConfig& config = *parsed.config;
  Context ctx;
  EXPECT_EQ(make(config)->on_request(ctx).kind, Verdict::Kind::kContinue);
  EXPECT_THAT(lines(ctx.request_headers), ElementsAre("X-Env: prod", "X-Tab: a\tb", "X-Via: gw"));
  for (const char* dropped : {"x-internal", "Cookie", "X-Env", "X-Tab"}) {
    EXPECT_TRUE(ctx.request_headers.drops(dropped)) << dropped;
  }
  EXPECT_FALSE(ctx.request_headers.drops("X-Via"));  // added beside the client's own
  EXPECT_TRUE(ctx.response_headers.empty());
}

TEST(Headers, ResponseEditsGoToTheClientOnly) {
  Parsed parsed = parse_yaml(kEdits);
  ASSERT_THAT(parsed.errors, IsEmpty());
  const config::PluginConfig& config = *parsed.config;
  Context ctx;
  ctx.status = 502;  // the gateway's own answers get them too
  make(config)->on_response(ctx);
  EXPECT_THAT(lines(ctx.response_headers),
              ElementsAre("Server: turnpike", "Cache-Control: no-store"));
  EXPECT_TRUE(ctx.response_headers.drops("X-Powered-By"));
  EXPECT_TRUE(ctx.response_headers.drops("server"));
  EXPECT_TRUE(ctx.request_headers.empty());
}

TEST(Headers, RemoveThenSetThenAddOfOneName) {
  // remove, set and add of one name: the set replaces the original, the add joins it, and the
  // remove (applied first) does not take either away.
  Parsed parsed = parse_yaml("{request: {remove: [X-A], set: {X-A: s}, add: {x-a: a}}}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  const config::PluginConfig& config = *parsed.config;
  Context ctx;
  make(config)->on_request(ctx);
  EXPECT_THAT(lines(ctx.request_headers), ElementsAre("X-A: s", "x-a: a"));
  EXPECT_TRUE(ctx.request_headers.drops("X-A"));
}

TEST(Headers, ValuesPointIntoTheConfig) {
  Parsed parsed = parse_yaml("{response: {set: {X-A: value}}}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  const config::PluginConfig& config = *parsed.config;
  Context ctx;
  make(config)->on_response(ctx);
  const std::string& stored = static_cast<const Config&>(config).response.set[0].second;
  ctx.response_headers.for_each_line([&](std::string_view, std::string_view value) {
    EXPECT_EQ(value.data(), stored.data());  // no copy per request
  });
}

}  // namespace
}  // namespace turnpike::plugins::headers
