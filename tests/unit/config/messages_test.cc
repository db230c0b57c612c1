// The error messages a new user meets first: YAML syntax at the right place in plain words,
// and hints for the usual mistakes (https upstreams, a missing scheme, a Kong or Tyk file, Kong's
// plugin names). Each message is asserted word for word.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "config/loader.h"
#include "config/plugin_catalog.h"
#include "config/yaml_errors.h"

namespace turnpike::config {
namespace {

using ::testing::ElementsAre;

std::vector<ConfigError> errors_of(const std::string& yaml) {
  static const PluginCatalog catalog;  // nothing registered: every SPEC plugin is unavailable
  LoadOptions options;
  options.plugins = &catalog;
  return load_string(yaml, options).errors;
}

TEST(YamlSyntax, UnclosedBracketIsReportedWhereItOpens) {
  // yaml-cpp gives up a line later ("end of sequence flow not found" at 4:13).
  EXPECT_THAT(
      errors_of("routes:\n  - path: \"/a/**\"\n    methods: [GET, POST\n"
                "    upstream: builtin:echo\n"),
      ElementsAre(ConfigError{"config:3:14", "\"[\" opened here is never closed (add \"]\")"}));
  EXPECT_THAT(
      errors_of("server:\n  listeners: {name: a, address: 1\n"),
      ElementsAre(ConfigError{"config:2:14", "\"{\" opened here is never closed (add \"}\")"}));
}

TEST(YamlSyntax, UnclosedQuoteIsReportedWhereItOpens) {
  // yaml-cpp reads it to the end of the file as one string, without an error.
  EXPECT_THAT(errors_of("routes:\n  - path: \"/a/**\n    upstream: builtin:echo\n"),
              ElementsAre(ConfigError{"config:2:11",
                                      "\"\\\"\" opened here is never closed (add \"\\\"\")"}));
  // A later quote closes it, and yaml-cpp fails further on: still the quote is to blame.
  EXPECT_THAT(errors_of("routes:\n  - path: '/a\n    upstream: builtin:echo\n"
                        "  - path: '/b'\n    upstream: builtin:echo\n"),
              ElementsAre(ConfigError{"config:2:11",
                                      "\"'\" opened here is not closed on its line (the text "
                                      "runs on to line 4)"}));
}

TEST(YamlSyntax, PlainWordsForParserMessages) {
  EXPECT_THAT(errors_of("a: b: c\n"),
              ElementsAre(ConfigError{"config:1:5",
                                      "unexpected \":\" (a value that contains \": \" must be "
                                      "quoted, and a key needs a new line)"}));
  EXPECT_THAT(
      errors_of("routes:\n\t- path: /a\n"),
      ElementsAre(ConfigError{"config:2:1", "a tab in the indentation: indent with spaces"}));
}

TEST(YamlSyntax, ValidShapesAreNotFlagged) {
  EXPECT_EQ(find_unclosed("a: [1, {b: \"c]\"}]\nd: 'it''s'\ne: |\n  [unclosed \"text\n"
                          "f: x # a [comment\ng: ^/v2/[a-z]+$\n"),
            std::nullopt);
}

TEST(YamlSyntax, TheFileIsNamed) {
  std::string path = ::testing::TempDir() + "/gateway.yaml";
  std::ofstream(path) << "routes:\n  - methods: [GET\n    upstream: builtin:echo\n";
  LoadResult result = load_file(path);
  std::remove(path.c_str());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(format_errors(result.errors),
            path + ":2:14: \"[\" opened here is never closed (add \"]\")\n");
}

TEST(Hints, HttpsUpstreamsSayHttps) {
  const std::string message =
      "https upstreams are not supported yet (TLS to upstreams is still to come; use http://)";
  EXPECT_THAT(errors_of("routes: [{path: /a, upstream: 'https://api.example.com'}]"),
              ElementsAre(ConfigError{"routes[0].upstream", message}));
  EXPECT_THAT(errors_of("upstreams: {u: {targets: ['a:1'], scheme: https}}"),
              ElementsAre(ConfigError{"upstreams.u.scheme", message}));
}

TEST(Hints, AnAddressWithoutSchemeGetsOne) {
  EXPECT_THAT(errors_of("routes: [{path: /a, upstream: '127.0.0.1:19001'}]"),
              ElementsAre(ConfigError{"routes[0].upstream",
                                      "unknown upstream \"127.0.0.1:19001\" (to forward to an "
                                      "address, write a URL: \"http://127.0.0.1:19001\")"}));
  EXPECT_THAT(errors_of("routes: [{path: /a, upstream: 'users.internal:8080'}]"),
              ElementsAre(ConfigError{"routes[0].upstream",
                                      "unknown upstream \"users.internal:8080\" (to forward to "
                                      "an address, write a URL: \"http://users.internal:8080\")"}));
}

TEST(Hints, KongFileIsRecognized) {
  const std::string kong =
      "_format_version: \"3.0\"\nservices:\n  - name: users\n    url: http://users:8080\n"
      "    routes:\n      - name: users\n        paths: [/users]\n";
  EXPECT_THAT(errors_of(kong),
              ElementsAre(ConfigError{
                  "config",
                  "this looks like a Kong declarative configuration (kong.yml: _format_version, "
                  "services), not a turnpike one; turnpike's format is described in "
                  "docs/configuration.md (Kong's services become upstreams, its routes become "
                  "routes)"}));
}

TEST(Hints, TykFileIsRecognized) {
  const std::string tyk =
      "{\"name\": \"users\", \"api_id\": \"1\", \"use_keyless\": true,"
      " \"proxy\": {\"listen_path\": \"/users/\", \"target_url\": \"http://users:8080\"}}";
  EXPECT_THAT(errors_of(tyk),
              ElementsAre(ConfigError{
                  "config",
                  "this looks like a Tyk API definition (api_id, proxy.listen_path, "
                  "version_data), not a turnpike configuration; turnpike's format is described "
                  "in docs/configuration.md (Tyk's proxy.target_url becomes a route's upstream, "
                  "listen_path its path)"}));
}

TEST(Hints, UnknownPluginSuggestsTheNearest) {
  EXPECT_THAT(errors_of("plugins: {rate-limiting: {}}"),
              ElementsAre(ConfigError{"plugins.rate-limiting",
                                      "unknown plugin \"rate-limiting\" (did you mean "
                                      "\"rate_limit\"? It is not available in this build yet.)"}));
  EXPECT_THAT(errors_of("plugins: {key-auth: {}}"),
              ElementsAre(ConfigError{"plugins.key-auth",
                                      "unknown plugin \"key-auth\" (did you mean \"key_auth\"? "
                                      "It is not available in this build yet.)"}));
  EXPECT_THAT(errors_of("plugins: {access-log: {}}"),
              ElementsAre(ConfigError{"plugins.access-log",
                                      "unknown plugin \"access-log\" (did you mean "
                                      "\"access_log\"? It is not available in this build yet.)"}));
}

}  // namespace
}  // namespace turnpike::config
