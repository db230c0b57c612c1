// key_auth: its configuration (sources, errors at their paths, the JSON it shows), the query
// parameter reader, and its verdicts: the consumer a key in a header or the query names, 401
// (with its challenge) for a missing key and for a key no consumer holds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "plugin_test_util.h"
#include "plugins/consumers.h"
#include "plugins/key_auth/config.h"
#include "plugins/key_auth/plugin.h"

namespace turnpike::plugins::key_auth {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

using testing_util::BadConfig;
using testing_util::Parsed;

constexpr const char* kPath = "routes[1].plugins.key_auth";

Parsed parse_yaml(const std::string& yaml) { return testing_util::parse_block(parse, yaml, kPath); }

class KeyAuthConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(KeyAuthConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), kPath);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, KeyAuthConfigTest,
    ::testing::Values(
        BadConfig{"NoSources", "{sources: []}",
                  "routes[1].plugins.key_auth.sources: must list at least one source"},
        BadConfig{"Cookie", "{sources: [header:X-Key, cookie:key]}",
                  "routes[1].plugins.key_auth.sources[1]: invalid source \"cookie:key\" "
                  "(allowed: header:NAME, query:NAME)"},
        BadConfig{"NoKind", "{sources: [X-API-Key]}",
                  "routes[1].plugins.key_auth.sources[0]: invalid source \"X-API-Key\" "
                  "(allowed: header:NAME, query:NAME)"},
        BadConfig{"NoName", "{sources: [\"header:\"]}",
                  "routes[1].plugins.key_auth.sources[0]: invalid name \"\" in source "
                  "\"header:\""},
        BadConfig{"HeaderNameNotAToken", "{sources: [\"header:X Key\"]}",
                  "routes[1].plugins.key_auth.sources[0]: invalid name \"X Key\" in source "
                  "\"header:X Key\""},
        BadConfig{"QueryNameNeedsEscaping", "{sources: [\"query:a=b\"]}",
                  "routes[1].plugins.key_auth.sources[0]: invalid name \"a=b\" in source "
                  "\"query:a=b\""},
        BadConfig{"Duplicate", "{sources: [query:k, header:k, query:k]}",
                  "routes[1].plugins.key_auth.sources[2]: duplicate source \"query:k\""},
        BadConfig{"NotAList", "{sources: header:X-Key}",
                  "routes[1].plugins.key_auth.sources: expected a list, got a scalar"},
        BadConfig{"UnknownKey", "{source: [header:X-Key]}",
                  "routes[1].plugins.key_auth.source: unknown key (did you mean \"sources\"?)"},
        BadConfig{"Kong", "{key_names: [apikey]}",
                  "routes[1].plugins.key_auth.key_names: unknown key"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(KeyAuthConfig, DefaultsToSpecSourcesAndShowsThem) {
  Parsed defaults = parse_yaml("{}");
  Parsed spelled = parse_yaml("{sources: [header:X-API-Key, query:apikey]}");
  Parsed other = parse_yaml("{sources: [query:apikey]}");
  ASSERT_THAT(defaults.errors, IsEmpty());
  ASSERT_THAT(spelled.errors, IsEmpty());
  ASSERT_THAT(other.errors, IsEmpty());
  EXPECT_EQ(defaults.config->to_json(true),
            nlohmann::json::parse(R"({"sources": ["header:X-API-Key", "query:apikey"]})"));
  EXPECT_TRUE(defaults.config->equals(*spelled.config));
  EXPECT_FALSE(defaults.config->equals(*other.config));
}

TEST(QueryValue, FindsTheFirstParameterOfThatName) {
  Arena arena;
  EXPECT_EQ(query_value("apikey=abc", "apikey", arena), "abc");
  EXPECT_EQ(query_value("a=1&apikey=abc&apikey=def", "apikey", arena), "abc");
  EXPECT_EQ(query_value("a=1&apikey=", "apikey", arena), "");
  EXPECT_EQ(query_value("apikey&b=2", "apikey", arena), "");
  EXPECT_EQ(query_value("x=a=b&apikey=a=b", "apikey", arena), "a=b");
  EXPECT_EQ(query_value("", "apikey", arena), std::nullopt);
  EXPECT_EQ(query_value("apikeys=abc&xapikey=abc&APIKEY=abc", "apikey", arena), std::nullopt);
  EXPECT_EQ(query_value("&&apikey=abc&", "apikey", arena), "abc");
}

TEST(QueryValue, DecodesTheValueOnlyWhenItHasEscapes) {
  Arena arena;
  std::string_view query = "apikey=a%2Fb+c&plain=abc";
  EXPECT_EQ(query_value(query, "apikey", arena), "a/b c");
  std::optional<std::string_view> plain = query_value(query, "plain", arena);
  EXPECT_EQ(plain->data(), query.data() + query.size() - 3);  // a view into the query itself
}

const std::vector<config::Consumer> kConsumers = {
    {"mobile-app", {"k-mobile", "k/mobile two"}, {"premium"}},
    {"partner", {"k-partner"}, {}},
};

class KeyAuthTest : public ::testing::Test {
 protected:
  // The verdict for a request with these header fields and this query, under `yaml`.
  Verdict run(const std::string& yaml,
              std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
              std::string_view query = {}) {
    Parsed parsed = parse_yaml(yaml);
    EXPECT_THAT(parsed.errors, IsEmpty());
    config_ = parsed.config;
    for (const auto& [name, value] : fields) {
      headers_.push({name, value, nullptr, http::classify_header(name)});
    }
    ctx_.headers = &headers_;
    ctx_.query = query;
    ctx_.consumers = &consumers_;
    return make(*config_)->on_request(ctx_);
  }
  void expect_unauthorized(const Verdict& v, std::string_view message) {
    EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
    EXPECT_EQ(v.error, http::Error::kUnauthorized);
    EXPECT_EQ(v.message, message);
    EXPECT_EQ(ctx_.consumer_entry, nullptr);
    EXPECT_EQ(ctx_.consumer, "");
    std::vector<std::string> lines;
    ctx_.response_headers.for_each_line([&](std::string_view name, std::string_view value) {
      lines.push_back(std::string(name) + ": " + std::string(value));
    });
    EXPECT_THAT(lines, ElementsAre("WWW-Authenticate: Key realm=\"turnpike\""));
  }

  Consumers consumers_{kConsumers};
  std::shared_ptr<const config::PluginConfig> config_;
  http::HeaderList headers_;
  Context ctx_;
};

TEST_F(KeyAuthTest, KeyInTheHeaderNamesItsConsumer) {
  Verdict v = run("{}", {{"x-api-key", "k-partner"}});
  EXPECT_EQ(v.kind, Verdict::Kind::kContinue);
  EXPECT_EQ(ctx_.consumer_entry, &kConsumers[1]);
  EXPECT_EQ(ctx_.consumer, kConsumers[1].name);
  EXPECT_TRUE(ctx_.response_headers.empty());
  EXPECT_TRUE(ctx_.request_headers.empty());  // the key is forwarded as it came
}

TEST_F(KeyAuthTest, KeyInTheQueryNamesItsConsumer) {
  Verdict v = run("{}", {}, "page=2&apikey=k%2Fmobile+two");
  EXPECT_EQ(v.kind, Verdict::Kind::kContinue);
  EXPECT_EQ(ctx_.consumer_entry, &kConsumers[0]);
  EXPECT_EQ(ctx_.consumer, kConsumers[0].name);
}

TEST_F(KeyAuthTest, TheFirstSourcePresentDecides) {
  // The header comes first: a wrong key there is not rescued by a right one in the query.
  expect_unauthorized(run("{}", {{"X-API-Key", "wrong"}}, "apikey=k-mobile"), "invalid API key");
}

TEST_F(KeyAuthTest, AnEmptyValueCountsAsAbsent) {
  Verdict v = run("{}", {{"X-API-Key", ""}}, "apikey=k-mobile");
  EXPECT_EQ(v.kind, Verdict::Kind::kContinue);
  EXPECT_EQ(ctx_.consumer_entry, &kConsumers[0]);
  EXPECT_EQ(ctx_.consumer, kConsumers[0].name);
}

TEST_F(KeyAuthTest, OnlyTheConfiguredSourcesAreRead) {
  expect_unauthorized(
      run("{sources: [header:Authorization-Key]}", {{"X-API-Key", "k-mobile"}}, "apikey=k-mobile"),
      "missing API key");
}

TEST_F(KeyAuthTest, MissingKey) {
  expect_unauthorized(run("{}", {{"Authorization", "Bearer k-mobile"}}, "a=1"), "missing API key");
}

TEST_F(KeyAuthTest, KeyNoConsumerHolds) {
  expect_unauthorized(run("{}", {{"X-API-Key", "k-mobile "}}), "invalid API key");
}

TEST_F(KeyAuthTest, ConsumerNameIsNotAKey) {
  expect_unauthorized(run("{sources: [query:key]}", {}, "key=partner"), "invalid API key");
}

TEST_F(KeyAuthTest, WithoutConsumersEveryKeyIsInvalid) {
  Parsed parsed = parse_yaml("{}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  headers_.push({"X-API-Key", "k-mobile", nullptr, http::HeaderId::kOther});
  ctx_.headers = &headers_;
  Verdict v = make(*parsed.config)->on_request(ctx_);
  EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(v.message, "invalid API key");
}

}  // namespace
}  // namespace turnpike::plugins::key_auth
