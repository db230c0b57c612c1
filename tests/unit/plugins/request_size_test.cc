// request_size: its configuration, a declared length over the limit refused, exactly at the limit
// accepted, and the limit handed to the gateway for bodies of unknown length.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <vector>

#include "plugin_test_util.h"
#include "plugins/request_size/config.h"
#include "plugins/request_size/plugin.h"

namespace turnpike::plugins::request_size {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using testing_util::BadConfig;
using testing_util::Parsed;

// The block at plugins.request_size, read from `yaml`, with its errors.
Parsed parse_yaml(const std::string& yaml) {
  return testing_util::parse_block(parse, yaml, "plugins.request_size");
}

TEST(RequestSizeConfig, ReadsSizesWithUnits) {
  Parsed parsed = parse_yaml("{max_body_bytes: 10KiB}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  EXPECT_EQ(static_cast<const Config&>(*parsed.config).max_body_bytes, 10240u);
  EXPECT_EQ(parsed.config->to_json(false), nlohmann::json::parse(R"({"max_body_bytes":10240})"));
  EXPECT_TRUE(parsed.config->equals(*parse_yaml("{max_body_bytes: 10240}").config));
  EXPECT_FALSE(parsed.config->equals(*parse_yaml("{max_body_bytes: 10241}").config));
}


class RequestSizeConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(RequestSizeConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), "plugins.request_size");
}

INSTANTIATE_TEST_SUITE_P(
    Errors, RequestSizeConfigTest,
    ::testing::Values(
        BadConfig{"Missing", "{}", "plugins.request_size.max_body_bytes: required"},
        BadConfig{
            "Zero", "{max_body_bytes: 0}",
            "plugins.request_size.max_body_bytes: invalid size \"0\": must be greater than 0"},
        BadConfig{"UnknownUnit", "{max_body_bytes: 10 parsecs}",
                  "plugins.request_size.max_body_bytes: invalid size \"10 parsecs\": unknown unit "
                  "\" parsecs\" (use KiB, MiB, GiB, KB, MB, GB, or a plain number of bytes)"},
        BadConfig{"UnknownKey", "{max_body_bytes: 1, max: 2}",
                  "plugins.request_size.max: unknown key"}),
    [](const auto& info) { return std::string(info.param.name); });

// One request with this body framing through a plugin with limit `max`; `body_limit` is what
// the gateway (or an earlier plugin) had set, and what the plugin left.
Verdict run(uint64_t max, bool length_known, uint64_t content_length, uint64_t& body_limit) {
  Config config;
  config.max_body_bytes = max;
  Context ctx;
  ctx.has_body = true;
  ctx.length_known = length_known;
  ctx.content_length = content_length;
  ctx.body_limit = body_limit;
  Verdict v = make(config)->on_request(ctx);
  body_limit = ctx.body_limit;
  return v;
}

TEST(RequestSize, ExactlyAtTheLimitIsAccepted) {
  uint64_t limit = UINT64_MAX;
  EXPECT_EQ(run(100, true, 100, limit).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(limit, 100u);
  EXPECT_EQ(run(100, true, 0, limit).kind, Verdict::Kind::kContinue);
}

TEST(RequestSize, ADeclaredLengthOverTheLimitIsRefused) {
  uint64_t limit = UINT64_MAX;
  Verdict v = run(100, true, 101, limit);
  EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(v.error, http::Error::kPayloadTooLarge);
  EXPECT_EQ(v.message, "request body too large");
}

TEST(RequestSize, AnUnknownLengthIsLeftToTheGatewayWithTheLimit) {
  // Chunked: no length to check yet; the gateway cuts the body when it passes the limit.
  uint64_t limit = UINT64_MAX;
  EXPECT_EQ(run(100, false, 0, limit).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(limit, 100u);
}

TEST(RequestSize, NeverLoosensATighterLimit) {
  uint64_t limit = 50;
  EXPECT_EQ(run(100, false, 0, limit).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(limit, 50u);
}

}  // namespace
}  // namespace turnpike::plugins::request_size
