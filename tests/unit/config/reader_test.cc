#include "config/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

namespace turnpike::config {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// A document and the errors its Readers record.
struct Doc {
  explicit Doc(const std::string& yaml, std::map<std::string, std::string> vars = {},
               std::string path = "")
      : node(YAML::Load(yaml)),
        env_vars(std::move(vars)),
        root(Reader::root(
            node, errors,
            [this](const std::string& name) -> std::optional<std::string> {
              auto it = env_vars.find(name);
              if (it == env_vars.end()) return std::nullopt;
              return it->second;
            },
            std::move(path))) {}
  YAML::Node node;
  std::vector<ConfigError> errors;
  std::map<std::string, std::string> env_vars;
  Reader root;
};

TEST(Reader, PathsNameKeysAndIndexes) {
  Doc doc("routes: [{plugins: {rate_limit: {limit: 5}}}]\nupstreams: {users.v2: {}}");
  Reader limit =
      doc.root.child("routes").index(0).child("plugins").child("rate_limit").child("limit");
  EXPECT_EQ(limit.path(), "routes[0].plugins.rate_limit.limit");
  EXPECT_TRUE(limit.present());
  EXPECT_EQ(limit.integer(1, 10), 5);
  // A key that is not a plain identifier is quoted, so the path stays unambiguous.
  EXPECT_EQ(doc.root.child("upstreams").child("users.v2").path(), "upstreams[\"users.v2\"]");
  EXPECT_FALSE(doc.root.child("nope").child("deeper").present());
  EXPECT_FALSE(doc.root.child("routes").index(5).present());
  EXPECT_THAT(doc.errors, IsEmpty());
}

TEST(Reader, UnknownKeySuggestsTheCloseOne) {
  Doc doc("limit: 5\nwindwo: 1s\nbrust: 3\nzzz: 1", {}, "plugins.rate_limit");
  EXPECT_TRUE(doc.root.expect_map({"limit", "window", "burst", "key"}));
  EXPECT_THAT(
      doc.errors,
      ElementsAre(
          ConfigError{"plugins.rate_limit.windwo", "unknown key (did you mean \"window\"?)"},
          ConfigError{"plugins.rate_limit.brust", "unknown key (did you mean \"burst\"?)"},
          ConfigError{"plugins.rate_limit.zzz", "unknown key"}));
}

TEST(Reader, ExpectMapOnOtherShapes) {
  Doc doc("a: [1]\nb:\nc: {x: 1, x: 2}");
  EXPECT_FALSE(doc.root.child("a").expect_map({}));
  EXPECT_TRUE(doc.root.child("b").expect_map({}));        // null is an empty map
  EXPECT_TRUE(doc.root.child("missing").expect_map({}));  // so is an absent one
  EXPECT_TRUE(doc.root.child("c").expect_map({"x"}));
  EXPECT_THAT(doc.errors, ElementsAre(ConfigError{"a", "expected a map, got a list"},
                                      ConfigError{"c.x", "duplicate key"}));
}

TEST(Reader, EnvExpansionInEveryScalar) {
  Doc doc(R"(
token: ${TOKEN}
mixed: "Bearer ${TOKEN}/${USER_2}"
literal: "$${NOT_EXPANDED} costs $5 and $$"
limit: ${LIMIT}
flag: ${FLAG}
list: ["${TOKEN}", plain]
)",
          {{"TOKEN", "s3cret"}, {"USER_2", "bob"}, {"LIMIT", "42"}, {"FLAG", "true"}});
  EXPECT_EQ(doc.root.child("token").string(), "s3cret");
  EXPECT_EQ(doc.root.child("mixed").string(), "Bearer s3cret/bob");
  EXPECT_EQ(doc.root.child("literal").string(), "${NOT_EXPANDED} costs $5 and $$");
  EXPECT_EQ(doc.root.child("limit").integer(1, 100), 42);
  EXPECT_EQ(doc.root.child("flag").boolean(), true);
  EXPECT_EQ(doc.root.child("list").string_list(), (std::vector<std::string>{"s3cret", "plain"}));
  EXPECT_THAT(doc.errors, IsEmpty());
}

TEST(Reader, EnvExpansionErrors) {
  Doc doc("admin: {token: '${TURNPIKE_ADMIN_TOKEN}'}\nb: '${A}-${B}'\nc: '${1X}'\nd: '${OPEN'",
          {{"A", "a"}});
  EXPECT_EQ(doc.root.child("admin").child("token").string(), std::nullopt);
  EXPECT_EQ(doc.root.child("b").string(), std::nullopt);
  EXPECT_EQ(doc.root.child("c").string(), std::nullopt);
  EXPECT_EQ(doc.root.child("d").string(), std::nullopt);
  const std::string bad_ref =
      "invalid ${NAME} reference (NAME: letters, digits and _; write $${ for a literal ${)";
  EXPECT_THAT(doc.errors,
              ElementsAre(ConfigError{"admin.token",
                                      "environment variable TURNPIKE_ADMIN_TOKEN is not set"},
                          ConfigError{"b", "environment variable B is not set"},
                          ConfigError{"c", bad_ref}, ConfigError{"d", bad_ref}));
}

TEST(Reader, EnvValuesAreNotExpandedAgain) {
  Doc doc("v: '${A}'", {{"A", "${B}"}, {"B", "no"}});
  EXPECT_EQ(doc.root.child("v").string(), "${B}");
  EXPECT_THAT(doc.errors, IsEmpty());
}

TEST(Reader, EnvDefaultsToTheProcessEnvironment) {
  ::setenv("TURNPIKE_READER_TEST", "from-env", 1);
  YAML::Node node = YAML::Load("v: ${TURNPIKE_READER_TEST}");
  std::vector<ConfigError> errors;
  Reader root = Reader::root(node, errors);
  EXPECT_EQ(root.child("v").string(), "from-env");
  EXPECT_THAT(errors, IsEmpty());
}

TEST(Reader, ScalarGetters) {
  Doc doc(R"(
s: hello
empty: ""
t: true
f: False
yes: yes
n: 7
neg: -3
big: 100
frac: 0.25
d: 1m30s
zero: 0s
size: 64KiB
pick: warn
addr: "[::1]:80"
net: 10.0.0.0/8
nothing:
)");
  const Reader& r = doc.root;
  EXPECT_EQ(r.child("s").string(), "hello");
  EXPECT_EQ(r.child("empty").string(), "");
  EXPECT_EQ(r.child("s").non_empty_string(), "hello");
  EXPECT_EQ(r.child("t").boolean(), true);
  EXPECT_EQ(r.child("f").boolean(), false);
  EXPECT_EQ(r.child("n").integer(0, 10), 7);
  EXPECT_EQ(r.child("neg").integer(-5, 5), -3);
  EXPECT_EQ(r.child("frac").number(0, 1), 0.25);
  EXPECT_EQ(r.child("d").duration(), Duration(90000));
  EXPECT_EQ(r.child("zero").duration(Reader::Zero::kAllow), Duration(0));
  EXPECT_EQ(r.child("size").bytes(), 65536u);
  EXPECT_EQ(r.child("pick").one_of({"info", "warn"}), "warn");
  EXPECT_EQ(r.child("addr").host_port(HostForm::kListener), (HostPort{"::1", 80}));
  EXPECT_EQ(r.child("net").cidr(), parse_cidr("10.0.0.0/8").value);
  EXPECT_TRUE(r.child("nothing").present());
  EXPECT_TRUE(r.child("nothing").is_null());
  EXPECT_TRUE(r.child("absent").is_null());
  // Absent: nullopt and no error.
  EXPECT_EQ(r.child("absent").string(), std::nullopt);
  EXPECT_EQ(r.child("absent").duration(), std::nullopt);
  EXPECT_THAT(doc.errors, IsEmpty());

  EXPECT_EQ(r.child("empty").non_empty_string(), std::nullopt);
  EXPECT_EQ(r.child("yes").boolean(), std::nullopt);
  EXPECT_EQ(r.child("big").integer(1, std::numeric_limits<int64_t>::max()), 100);
  EXPECT_EQ(r.child("neg").integer(1, std::numeric_limits<int64_t>::max()), std::nullopt);
  EXPECT_EQ(r.child("neg").integer(0, std::numeric_limits<int64_t>::max()), std::nullopt);
  EXPECT_EQ(r.child("big").integer(0, 10), std::nullopt);
  EXPECT_EQ(r.child("frac").integer(0, 10), std::nullopt);
  EXPECT_EQ(r.child("big").number(0, 1), std::nullopt);
  EXPECT_EQ(r.child("zero").duration(), std::nullopt);
  EXPECT_EQ(r.child("n").duration(), std::nullopt);
  EXPECT_EQ(r.child("n").bytes(1024), std::nullopt);
  EXPECT_EQ(r.child("pick").one_of({"debug", "info"}), std::nullopt);
  EXPECT_EQ(r.child("nothing").string(), std::nullopt);
  EXPECT_EQ(r.child("addr").string_list(), std::nullopt);
  EXPECT_THAT(
      doc.errors,
      ElementsAre(ConfigError{"empty", "must not be empty"},
                  ConfigError{"yes", "expected true or false"},
                  ConfigError{"neg", "must be a positive integer"},
                  ConfigError{"neg", "must be a non-negative integer"},
                  ConfigError{"big", "must be an integer between 0 and 10"},
                  ConfigError{"frac", "must be an integer between 0 and 10"},
                  ConfigError{"big", "must be a number between 0 and 1"},
                  ConfigError{"zero", "invalid duration \"0s\": must be greater than 0"},
                  ConfigError{"n", "invalid duration \"7\": missing unit (use ms, s, m, h)"},
                  ConfigError{"n", "invalid size \"7\": must be at least 1024 bytes"},
                  ConfigError{"pick", "invalid value \"warn\" (allowed: debug, info)"},
                  ConfigError{"nothing", "expected a string, got nothing"},
                  ConfigError{"addr", "expected a list, got a scalar"}));
}

TEST(Reader, RequiredAndNotSupported) {
  Doc doc("tls: {}\nname: x");
  EXPECT_FALSE(doc.root.required("address").present());
  EXPECT_TRUE(doc.root.required("name").present());
  doc.root.child("tls").not_supported();
  doc.root.child("acme").not_supported();  // absent: nothing to say
  EXPECT_THAT(doc.errors, ElementsAre(ConfigError{"address", "required"},
                                      ConfigError{"tls", "not supported yet"}));
}

TEST(Reader, ListsAndMaps) {
  Doc doc(R"(
cidrs: [10.0.0.0/8, "::1"]
bad_cidrs: [10.0.0.0/8, nope]
names: [a, "", b]
headers: {X-A: "1", X-B: two}
items: [1, 2, 3]
)");
  const Reader& r = doc.root;
  EXPECT_EQ(r.child("cidrs").cidr_list()->size(), 2u);
  EXPECT_EQ(r.child("bad_cidrs").cidr_list(), std::nullopt);
  EXPECT_EQ(r.child("names").string_list(), std::nullopt);
  auto headers = r.child("headers").string_map();
  ASSERT_TRUE(headers);
  EXPECT_EQ(*headers,
            (std::vector<std::pair<std::string, std::string>>{{"X-A", "1"}, {"X-B", "two"}}));
  auto items = r.child("items").items();
  ASSERT_TRUE(items);
  ASSERT_EQ(items->size(), 3u);
  EXPECT_EQ((*items)[2].path(), "items[2]");
  EXPECT_EQ((*items)[2].integer(0, 9), 3);
  EXPECT_THAT(
      doc.errors,
      ElementsAre(ConfigError{"bad_cidrs[1]", "invalid CIDR \"nope\": invalid IP address \"nope\""},
                  ConfigError{"names[1]", "must not be empty"}));
}

TEST(Reader, HasErrorsLooksAtThisPathAndBelow) {
  Doc doc("a: {b: 1}\nab: 2");
  doc.root.child("ab").error("boom");
  EXPECT_FALSE(doc.root.child("a").has_errors());  // "ab" is not under "a"
  EXPECT_TRUE(doc.root.child("ab").has_errors());
  doc.root.child("a").child("b").error("bad");
  EXPECT_TRUE(doc.root.child("a").has_errors());
  EXPECT_TRUE(doc.root.has_errors());
}

TEST(Reader, SortsErrorsInDocumentOrder) {
  Doc doc("first: 1\nsecond: 2\nthird: {x: 1}");
  doc.root.child("third").child("x").error("3");
  doc.root.child("first").error("1");
  doc.root.child("third").child("missing").error("3b");  // at its parent's position
  doc.root.child("second").error("2");
  doc.root.sort_errors_in_document_order();
  EXPECT_THAT(doc.errors,
              ElementsAre(ConfigError{"first", "1"}, ConfigError{"second", "2"},
                          ConfigError{"third.missing", "3b"}, ConfigError{"third.x", "3"}));
}

TEST(DidYouMean, OnlyForCloseWords) {
  std::vector<std::string> keys = {"upstream", "upstreams", "timeout", "jwt"};
  EXPECT_EQ(did_you_mean("upstrem", keys), " (did you mean \"upstream\"?)");
  EXPECT_EQ(did_you_mean("timeuot", keys), " (did you mean \"timeout\"?)");
  EXPECT_EQ(did_you_mean("Timeout", keys), " (did you mean \"timeout\"?)");
  EXPECT_EQ(did_you_mean("jwtt", keys), " (did you mean \"jwt\"?)");
  EXPECT_EQ(did_you_mean("cors", keys), "");
  EXPECT_EQ(did_you_mean("x", keys), "");
}

}  // namespace
}  // namespace turnpike::config
