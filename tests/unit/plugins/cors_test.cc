// cors: its configuration, preflights answered by the gateway (allowed or not), the fields on
// actual responses, "*" with and without credentials, and requests that are not CORS at all.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "plugin_test_util.h"
#include "plugins/cors/config.h"
#include "plugins/cors/plugin.h"

namespace turnpike::plugins::cors {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using testing_util::BadConfig;
using testing_util::Parsed;

// The block at plugins.cors, read from `yaml`, with its errors.
Parsed parse_yaml(const std::string& yaml) {
  return testing_util::parse_block(parse, yaml, "plugins.cors");
}



class CorsConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(CorsConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), "plugins.cors");
}

INSTANTIATE_TEST_SUITE_P(
    Errors, CorsConfigTest,
    ::testing::Values(
        BadConfig{"NoOrigins", "{credentials: true}", "plugins.cors.origins: required"},
        BadConfig{"EmptyOrigins", "{origins: []}",
                  "plugins.cors.origins: must list at least one origin"},
        BadConfig{"OriginWithPath", "{origins: [\"https://a.example/\"]}",
                  "plugins.cors.origins[0]: invalid origin \"https://a.example/\": give "
                  "scheme://host[:port] without a "
                  "path, or \"*\""},
        BadConfig{"OriginWithoutScheme", "{origins: [\"*\", a.example]}",
                  "plugins.cors.origins[1]: invalid origin \"a.example\": give "
                  "scheme://host[:port] without a path, or "
                  "\"*\""},
        BadConfig{"OriginWithLineBreak", "{origins: [\"https://a.example\\r\\nX: 1\"]}",
                  "plugins.cors.origins[0]: invalid origin \"https://a.example\r\nX: 1\": give "
                  "scheme://host[:port] "
                  "without a path, or \"*\""},
        BadConfig{"EmptyMethods", "{origins: [\"*\"], methods: []}",
                  "plugins.cors.methods: must list at least one method"},
        BadConfig{"MethodNotAToken", "{origins: [\"*\"], methods: [GET, \"PO ST\"]}",
                  "plugins.cors.methods[1]: invalid method \"PO ST\""},
        BadConfig{"HeaderNotAToken", "{origins: [\"*\"], headers: [\"X-A:\"]}",
                  "plugins.cors.headers[0]: invalid header name \"X-A:\""},
        BadConfig{"ExposedNotAToken", "{origins: [\"*\"], expose_headers: [\"X A\"]}",
                  "plugins.cors.expose_headers[0]: invalid header name \"X A\""},
        BadConfig{"CredentialsNotABool", "{origins: [\"*\"], credentials: yes}",
                  "plugins.cors.credentials: expected true or false"},
        BadConfig{"MaxAgeNotADuration", "{origins: [\"*\"], max_age: soon}",
                  "plugins.cors.max_age: invalid duration \"soon\": expected a number and a unit "
                  "(e.g. 250ms, 5s, 1m30s)"},
        BadConfig{"UnknownKey", "{origins: [\"*\"], expose: [X-A]}",
                  "plugins.cors.expose: unknown key"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(CorsConfig, DefaultsAndJson) {
  Parsed parsed = parse_yaml("{origins: [\"https://a.example\"], max_age: 10m}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  const config::PluginConfig& config = *parsed.config;
  EXPECT_EQ(config.to_json(false), nlohmann::json::parse(R"({
    "origins": ["https://a.example"],
    "methods": ["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE", "OPTIONS"],
    "headers": [], "expose_headers": [], "credentials": false, "max_age": "10m"})"));
  EXPECT_TRUE(
      config.equals(*parse_yaml("{origins: [\"https://a.example\"], max_age: 600s}").config));
  EXPECT_FALSE(config.equals(*parse_yaml("{origins: [\"https://a.example\"]}").config));
}

// One exchange: a request with these fields, and the plugin built from `yaml`.
class CorsTest : public ::testing::Test {
 protected:
  void configure(const std::string& yaml) {
    Parsed parsed = parse_yaml(yaml);
    ASSERT_THAT(parsed.errors, IsEmpty());
    config_ = parsed.config;
    plugin_ = make(*config_);
  }
  void request(std::string_view method,
               std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    ctx_.method = method;
    ctx_.headers = &headers_;
    for (const auto& [name, value] : fields) {
      headers_.push({name, value, nullptr, http::classify_header(name)});
    }
  }
  // The response fields the plugin added, as "Name: value" lines.
  std::vector<std::string> added() const {
    std::vector<std::string> lines;
    ctx_.response_headers.for_each_line([&](std::string_view name, std::string_view value) {
      lines.push_back(std::string(name) + ": " + std::string(value));
    });
    return lines;
  }

  std::shared_ptr<const config::PluginConfig> config_;
  std::shared_ptr<const Plugin> plugin_;
  http::HeaderList headers_;
  Context ctx_;
};

constexpr const char* kAppOrigins = R"({
  origins: ["https://app.example", "http://localhost:3000"],
  headers: [X-Token, Content-Type],
  expose_headers: [X-Total, X-Page],
  max_age: 1h})";

TEST_F(CorsTest, AllowedPreflightIsAnsweredWithEveryField) {
  configure(kAppOrigins);
  request("OPTIONS", {{"Origin", "https://app.example"},
                      {"Access-Control-Request-Method", "PUT"},
                      {"Access-Control-Request-Headers", "x-token"}});
  Verdict v = plugin_->on_request(ctx_);
  EXPECT_EQ(v.kind, Verdict::Kind::kAnswer);
  EXPECT_EQ(v.status, 204);
  EXPECT_THAT(added(),
              ElementsAre("Access-Control-Allow-Origin: https://app.example", "Vary: Origin",
                          "Access-Control-Allow-Methods: GET, HEAD, PUT, PATCH, POST, DELETE, "
                          "OPTIONS",
                          "Access-Control-Allow-Headers: X-Token, Content-Type",
                          "Access-Control-Max-Age: 3600"));
  // The response phase runs for the 204 too, and must not add the fields a second time.
  ctx_.status = 204;
  std::vector<std::string> before = added();
  plugin_->on_response(ctx_);
  EXPECT_EQ(added(), before);
}

TEST_F(CorsTest, PreflightReflectsTheRequestedHeadersWhenNoneAreConfigured) {
  configure("{origins: [\"https://app.example\"], methods: [GET, POST]}");
  request("OPTIONS", {{"origin", "https://app.example"},
                      {"access-control-request-method", "POST"},
                      {"access-control-request-headers", "x-a, x-b"}});
  EXPECT_EQ(plugin_->on_request(ctx_).kind, Verdict::Kind::kAnswer);
  EXPECT_THAT(added(), ElementsAre("Access-Control-Allow-Origin: https://app.example",
                                   "Vary: Origin", "Access-Control-Allow-Methods: GET, POST",
                                   "Access-Control-Allow-Headers: x-a, x-b"));
}

TEST_F(CorsTest, DisallowedOriginsPreflightIsAnsweredWithoutFields) {
  configure(kAppOrigins);
  request("OPTIONS",
          {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "DELETE"}});
  Verdict v = plugin_->on_request(ctx_);
  EXPECT_EQ(v.kind, Verdict::Kind::kAnswer);  // never forwarded
  EXPECT_EQ(v.status, 204);
  ctx_.status = 204;
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(), IsEmpty());
}

TEST_F(CorsTest, ActualRequestGetsItsFieldsOnTheResponse) {
  configure(kAppOrigins);
  request("POST", {{"Origin", "https://app.example"}});
  EXPECT_EQ(plugin_->on_request(ctx_).kind, Verdict::Kind::kContinue);
  EXPECT_THAT(added(), IsEmpty());
  ctx_.status = 201;
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(),
              ElementsAre("Access-Control-Allow-Origin: https://app.example", "Vary: Origin",
                          "Access-Control-Expose-Headers: X-Total, X-Page"));
  // The upstream's own Access-Control-Allow-Origin is replaced, its Vary kept.
  EXPECT_TRUE(ctx_.response_headers.drops("access-control-allow-origin"));
  EXPECT_FALSE(ctx_.response_headers.drops("Vary"));
}

TEST_F(CorsTest, TheGatewaysOwnRefusalsCarryTheFieldsToo) {
  configure(kAppOrigins);
  request("GET", {{"Origin", "http://localhost:3000"}});
  ctx_.status = 429;
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(),
              ElementsAre("Access-Control-Allow-Origin: http://localhost:3000", "Vary: Origin",
                          "Access-Control-Expose-Headers: X-Total, X-Page"));
}

TEST_F(CorsTest, OriginsMatchIgnoringCase) {
  configure(kAppOrigins);
  request("GET", {{"Origin", "HTTPS://App.Example"}});
  plugin_->on_response(ctx_);
  // The request's own text is echoed: it is what the browser compares with.
  EXPECT_THAT(added(),
              ElementsAre("Access-Control-Allow-Origin: HTTPS://App.Example", "Vary: Origin",
                          "Access-Control-Expose-Headers: X-Total, X-Page"));
}

TEST_F(CorsTest, OriginsDifferingInPortOrSchemeAreNotAllowed) {
  configure(kAppOrigins);
  request("GET", {{"Origin", "http://app.example"}});
  plugin_->on_response(ctx_);
  headers_.clear();
  request("GET", {{"Origin", "http://localhost:3001"}});
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(), IsEmpty());
}

TEST_F(CorsTest, ARequestWithoutOriginIsNotCors) {
  configure(kAppOrigins);
  // An OPTIONS without Origin is an ordinary request, forwarded with nothing added.
  request("OPTIONS", {{"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(plugin_->on_request(ctx_).kind, Verdict::Kind::kContinue);
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(), IsEmpty());
}

TEST_F(CorsTest, AnEmptyOriginIsNoOrigin) {
  configure("{origins: [\"*\"], credentials: true}");
  request("OPTIONS", {{"Origin", ""}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(plugin_->on_request(ctx_).kind, Verdict::Kind::kContinue);
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(), IsEmpty());
}

TEST_F(CorsTest, OptionsWithoutRequestMethodIsAnActualRequest) {
  configure(kAppOrigins);
  request("OPTIONS", {{"Origin", "https://app.example"}});
  EXPECT_EQ(plugin_->on_request(ctx_).kind, Verdict::Kind::kContinue);
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(),
              ElementsAre("Access-Control-Allow-Origin: https://app.example", "Vary: Origin",
                          "Access-Control-Expose-Headers: X-Total, X-Page"));
}

TEST_F(CorsTest, AnyOriginWithoutCredentialsIsAWildcard) {
  configure("{origins: [\"*\"]}");
  request("OPTIONS",
          {{"Origin", "https://anyone.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(plugin_->on_request(ctx_).kind, Verdict::Kind::kAnswer);
  EXPECT_THAT(added(), ElementsAre("Access-Control-Allow-Origin: *", "Vary: Origin",
                                   "Access-Control-Allow-Methods: GET, HEAD, PUT, PATCH, POST, "
                                   "DELETE, OPTIONS"));
}

TEST_F(CorsTest, AnyOriginWithCredentialsEchoesTheOrigin) {
  // A browser refuses "*" with credentials: the origin itself is the answer.
  configure("{origins: [\"*\"], credentials: true}");
  request("GET", {{"Origin", "https://anyone.example"}});
  plugin_->on_response(ctx_);
  EXPECT_THAT(added(), ElementsAre("Access-Control-Allow-Origin: https://anyone.example",
                                   "Vary: Origin", "Access-Control-Allow-Credentials: true"));
}

TEST_F(CorsTest, CredentialsOnAPreflight) {
  configure("{origins: [\"https://app.example\"], credentials: true, max_age: 0s}");
  request("OPTIONS", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(plugin_->on_request(ctx_).kind, Verdict::Kind::kAnswer);
  EXPECT_THAT(added(),
              ElementsAre("Access-Control-Allow-Origin: https://app.example", "Vary: Origin",
                          "Access-Control-Allow-Credentials: true",
                          "Access-Control-Allow-Methods: GET, HEAD, PUT, PATCH, POST, DELETE, "
                          "OPTIONS",
                          "Access-Control-Max-Age: 0"));
}

}  // namespace
}  // namespace turnpike::plugins::cors
