// The router: a table of requests against one configuration covering every rule of SPEC §2.1,
// the same table with the routes shuffled, build errors, and explain().
#include "routing/router.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "route_builder.h"

namespace turnpike::routing {
namespace {

using config::Route;
using testing_support::R;

class MapHeaders : public HeaderSource {
 public:
  explicit MapHeaders(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  std::optional<std::string_view> get(std::string_view lower_name) const override {
    const auto it = values_.find(std::string(lower_name));
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

// One configuration exercising every rule; each route's name says what it is there for.
std::vector<Route> table_routes() {
  return {
      // Rule 1, hosts: exact > longest wildcard > shorter wildcard > none.
      R("host-exact").hosts({"api.example.com"}).paths({"/h/**"}),
      R("host-wild").hosts({"*.example.com"}).paths({"/h/**"}),
      R("host-wild-deep").hosts({"*.b.example.com"}).paths({"/h/**"}),
      R("host-none").paths({"/h/**"}),
      R("host-v6").hosts({"[::1]"}).paths({"/h/**"}),
      R("host-fallback").paths({"/p/**"}),
      // A route with neither paths nor regex is "/**".
      R("catch-all").hosts({"catch.example.org"}),
      // Rule 2, paths: static > {param} > * > **, segment by segment, with backtracking.
      R("u-me").paths({"/users/me"}),
      R("u-id").paths({"/users/{id}"}),
      R("u-id-posts").paths({"/users/{id}/posts"}),
      R("u-any-posts").paths({"/users/*/posts"}),
      R("u-any-likes").paths({"/users/*/likes"}),
      R("u-rest").paths({"/users/**"}),
      // Rule 2, the longer static prefix first; strip_prefix.
      R("api-v1").paths({"/api/v1/**"}).strip_prefix(true),
      R("api").paths({"/api/**"}),
      R("api-ver-health").paths({"/api/{ver}/health"}),
      R("root").paths({"/"}),
      R("strip-all").hosts({"strip.example.org"}).paths({"/**"}).strip_prefix(true),
      R("strip-exact").paths({"/se"}).strip_prefix(true),
      // Rule 3, headers: more conditions first, all must hold.
      R("hdr-none").paths({"/hd"}),
      R("hdr-one").paths({"/hd"}).headers({{"x-version", "2"}}),
      R("hdr-two").paths({"/hd"}).headers({{"x-version", "2"}, {"x-beta", "1"}}),
      // Rule 4, regex: only when no paths route matched, in file order.
      R("re-first").regex("^/re/[0-9]+$"),
      R("re-second").regex("^/re/"),
      R("re-post").methods({"POST"}).regex("^/rp/"),
      R("re-host").hosts({"re.example.com"}).regex("^/rh"),
      R("re-users").regex("^/users/"),
      R("both").paths({"/both"}).regex("^/b0th$"),
      R("re-path").paths({"/re/special"}),
      // Rule 5, methods: fall through to the next best, else 405 with the union.
      R("m-get").methods({"GET"}).paths({"/m"}),
      R("m-post").methods({"POST", "PATCH"}).paths({"/m/**"}),
      R("m-host-get").hosts({"api.example.com"}).methods({"GET"}).paths({"/mh"}),
      R("m-any-delete").methods({"DELETE"}).paths({"/mh"}),
      R("m-hdr").methods({"PUT"}).paths({"/mh"}).headers({{"x-put", "1"}}),
      // After rule 3: a route with methods before an otherwise equal one without.
      R("mm-any").paths({"/mm"}),
      R("mm-get").methods({"GET", "HEAD"}).paths({"/mm"}),
  };
}

struct Case {
  const char* rule;
  std::string method;
  std::string host;
  std::string path;
  std::map<std::string, std::string> headers;
  std::string route;  // expected route name; "" for 404/405
  uint16_t status = 200;
  std::string allow = "";
  size_t strip_length = 0;
};

std::vector<Case> table_cases() {
  return {
      {"1 exact host", "GET", "api.example.com", "/h/x", {}, "host-exact"},
      {"1 host case and port", "GET", "API.Example.COM:8443", "/h/x", {}, "host-exact"},
      {"1 wildcard", "GET", "x.example.com", "/h/x", {}, "host-wild"},
      {"1 wildcard, several labels", "GET", "a.c.example.com", "/h/x", {}, "host-wild"},
      {"1 longest wildcard", "GET", "x.b.example.com", "/h/x", {}, "host-wild-deep"},
      {"1 *.b.example.com is not b.example.com", "GET", "b.example.com", "/h", {}, "host-wild"},
      {"1 *.example.com is not example.com", "GET", "example.com", "/h/x", {}, "host-none"},
      {"1 no host condition", "GET", "other.org", "/h/x", {}, "host-none"},
      {"1 no Host header", "GET", "", "/h/x", {}, "host-none"},
      {"1 IPv6 host with port", "GET", "[::1]:8080", "/h/x", {}, "host-v6"},
      {"1 host bucket without the path falls back",
       "GET",
       "api.example.com",
       "/p/x",
       {},
       "host-fallback"},
      {"no paths, no regex: /**", "GET", "catch.example.org", "/anything/at/all", {}, "catch-all"},
      {"2 static", "GET", "", "/users/me", {}, "u-me"},
      {"2 {param}", "GET", "", "/users/5", {}, "u-id"},
      {"2 {param} beats *", "GET", "", "/users/5/posts", {}, "u-id-posts"},
      {"2 backtrack from {param} to *", "GET", "", "/users/5/likes", {}, "u-any-likes"},
      {"2 backtrack from static to {param}", "GET", "", "/users/me/posts", {}, "u-id-posts"},
      {"2 ** takes the rest", "GET", "", "/users/5/other/x", {}, "u-rest"},
      {"2 ** takes nothing", "GET", "", "/users", {}, "u-rest"},
      {"2 {param} needs a segment", "GET", "", "/users/", {}, "u-rest"},
      {"2 trailing slash is significant", "GET", "", "/users/me/", {}, "u-rest"},
      {"2 longer static prefix", "GET", "", "/api/v1/users/5", {}, "api-v1", 200, "", 7},
      {"2 strip to nothing", "GET", "", "/api/v1", {}, "api-v1", 200, "", 7},
      {"2 strip to /", "GET", "", "/api/v1/", {}, "api-v1", 200, "", 7},
      {"2 shorter prefix", "GET", "", "/api/v2/x", {}, "api", 200, "", 0},
      {"2 segment by segment: v1 beats {ver}",
       "GET",
       "",
       "/api/v1/health",
       {},
       "api-v1",
       200,
       "",
       7},
      {"2 {ver} beats **", "GET", "", "/api/v2/health", {}, "api-ver-health"},
      {"2 root", "GET", "", "/", {}, "root"},
      {"strip_prefix with /** strips nothing",
       "GET",
       "strip.example.org",
       "/x/y",
       {},
       "strip-all",
       200,
       "",
       0},
      {"strip_prefix without ** strips nothing", "GET", "", "/se", {}, "strip-exact", 200, "", 0},
      {"3 no headers", "GET", "", "/hd", {}, "hdr-none"},
      {"3 one header", "GET", "", "/hd", {{"x-version", "2"}}, "hdr-one"},
      {"3 more headers win", "GET", "", "/hd", {{"x-version", "2"}, {"x-beta", "1"}}, "hdr-two"},
      {"3 a header that does not hold", "GET", "", "/hd", {{"x-version", "3"}}, "hdr-none"},
      {"4 regex", "GET", "", "/re/abc", {}, "re-second"},
      {"4 regex file order", "GET", "", "/re/42", {}, "re-first"},
      {"4 paths route before an earlier regex", "GET", "", "/re/special", {}, "re-path"},
      {"4 regex only when no paths route matched", "GET", "", "/users/5", {}, "u-id"},
      {"4 regex with a host", "GET", "re.example.com", "/rh", {}, "re-host"},
      {"4 regex host must hold", "GET", "other.org", "/rh", {}, "", 404},
      {"4 both paths and regex: path", "GET", "", "/both", {}, "both"},
      {"4 both paths and regex: regex", "GET", "", "/b0th", {}, "both"},
      {"5 method match", "GET", "", "/m", {}, "m-get"},
      {"5 method falls through to the next best", "POST", "", "/m", {}, "m-post"},
      {"5 405 with the union", "PUT", "", "/m", {}, "", 405, "GET, PATCH, POST"},
      {"5 405 only from what matched", "PUT", "", "/m/x", {}, "", 405, "PATCH, POST"},
      {"5 fall through across host buckets",
       "DELETE",
       "api.example.com",
       "/mh",
       {},
       "m-any-delete"},
      {"5 405 across host buckets", "PUT", "api.example.com", "/mh", {}, "", 405, "DELETE, GET"},
      {"5 405 counts routes whose headers hold",
       "POST",
       "api.example.com",
       "/mh",
       {{"x-put", "1"}},
       "",
       405,
       "DELETE, GET, PUT"},
      {"5 405 from a regex route", "GET", "", "/rp/x", {}, "", 405, "POST"},
      {"5 regex method", "POST", "", "/rp/x", {}, "re-post"},
      {"methods beat no methods", "GET", "", "/mm", {}, "mm-get"},
      {"no methods takes the other methods", "POST", "", "/mm", {}, "mm-any"},
      {"404", "GET", "", "/nothing", {}, "", 404},
      {"404 host-only path", "GET", "", "/mh2", {}, "", 404},
      {"404 not a path", "GET", "", "*", {}, "", 404},
  };
}

std::string name_of(const std::vector<Route>& routes, const RouteMatch& match) {
  return match.route >= 0 ? routes[match.route].name : "";
}

void check_table(const std::vector<Route>& routes, const std::string& label) {
  std::vector<config::ConfigError> errors;
  const std::unique_ptr<Router> router = Router::build(routes, errors);
  ASSERT_TRUE(router) << label << ": " << (errors.empty() ? "" : errors[0].message);
  for (const Case& c : table_cases()) {
    const MapHeaders headers(c.headers);
    const RouteRequest request{c.method, c.host, c.path, &headers};
    const RouteMatch match = router->match(request);
    const std::string where = label + ", rule " + c.rule + ": " + c.method + " " + c.host + c.path;
    EXPECT_EQ(match.status, c.status) << where;
    EXPECT_EQ(name_of(routes, match), c.route) << where;
    EXPECT_EQ(match.allow, c.allow) << where;
    EXPECT_EQ(match.strip_length, c.strip_length) << where;
    // explain() reaches the same decision, and lists every route once, the winner first.
    const Explanation explanation = router->explain(request);
    EXPECT_EQ(explanation.match.status, match.status) << where;
    EXPECT_EQ(explanation.match.route, match.route) << where;
    EXPECT_EQ(explanation.match.allow, match.allow) << where;
    ASSERT_EQ(explanation.candidates.size(), routes.size()) << where;
    if (match.status == 200) {
      EXPECT_EQ(explanation.candidates[0].route, c.route) << where;
      EXPECT_TRUE(explanation.candidates[0].reason.starts_with("selected: ")) << where;
    }
    for (size_t i = match.status == 200 ? 1 : 0; i < explanation.candidates.size(); ++i) {
      EXPECT_FALSE(explanation.candidates[i].reason.starts_with("selected"))
          << where << " " << explanation.candidates[i].route;
      EXPECT_NE(explanation.candidates[i].reason, "not selected")
          << where << " " << explanation.candidates[i].route;
    }
  }
}

TEST(Router, PrecedenceTable) { check_table(table_routes(), "file order"); }

TEST(Router, OrderIndependent) {
  std::vector<Route> routes = table_routes();
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    std::shuffle(routes.begin(), routes.end(), rng);
    // Regex routes are in file order by definition (rule 4): keep their relative order.
    std::vector<size_t> regex_slots;
    std::vector<Route> regex_routes;
    for (const Route& r : table_routes()) {
      if (r.regex && r.paths.empty()) regex_routes.push_back(r);
    }
    for (size_t i = 0; i < routes.size(); ++i) {
      if (routes[i].regex && routes[i].paths.empty()) regex_slots.push_back(i);
    }
    for (size_t i = 0; i < regex_slots.size(); ++i) routes[regex_slots[i]] = regex_routes[i];
    check_table(routes, "shuffle seed " + std::to_string(seed));
  }
  std::reverse(routes.begin(), routes.end());
  std::vector<config::ConfigError> errors;
  ASSERT_TRUE(Router::build(routes, errors));
}

TEST(Router, EmptyConfigIsAll404) {
  std::vector<config::ConfigError> errors;
  const auto router = Router::build({}, errors);
  ASSERT_TRUE(router);
  EXPECT_EQ(router->match({"GET", "a", "/", nullptr}).status, 404);
  EXPECT_TRUE(router->explain({"GET", "a", "/", nullptr}).candidates.empty());
}

std::vector<config::ConfigError> build_errors(const std::vector<Route>& routes) {
  std::vector<config::ConfigError> errors;
  EXPECT_FALSE(Router::build(routes, errors));
  return errors;
}

TEST(RouterBuild, BadPatternNamesItsPath) {
  const auto errors =
      build_errors({R("a").paths({"/a"}), R("b").paths({"/b"}), R("c").paths({"/c"}),
                    R("d").paths({"/d/**/x", "/ok", "/e/{}"})});
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "routes[3].paths[0]");
  EXPECT_EQ(errors[0].message, "`**` must be the last segment");
  EXPECT_EQ(errors[1].path, "routes[3].paths[2]");
}

TEST(RouterBuild, BadRegexAndHost) {
  const auto errors =
      build_errors({R("a").regex("^/(unclosed"), R("b").hosts({"a.*.com"}).paths({"/b"})});
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].path, "routes[0].regex");
  EXPECT_TRUE(errors[0].message.starts_with("invalid regex: ")) << errors[0].message;
  EXPECT_EQ(errors[1].path, "routes[1].hosts[0]");
}

TEST(RouterBuild, SameConditionsIsAnError) {
  const auto errors = build_errors({
      R("zero").paths({"/zero"}),
      R("users").hosts({"api.example.com"}).paths({"/users/{id}"}),
      R("two").paths({"/two"}),
      R("three").paths({"/three"}),
      // Same host entry (case aside), same pattern (names aside), no methods on either.
      R("four").hosts({"x.org", "API.example.com"}).paths({"/users/{uid}"}),
  });
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].path, "routes[4]");
  EXPECT_EQ(errors[0].message, "same conditions as route \"users\" (routes[1])");
}

TEST(RouterBuild, WhatCountsAsTheSameConditions) {
  struct Case {
    const char* what;
    Route a;
    Route b;
    bool duplicate;
  };
  for (const Case& c : std::vector<Case>{
           {"overlapping methods", R("a").methods({"GET", "POST"}).paths({"/x"}),
            R("b").methods({"POST"}).paths({"/x"}), true},
           {"both without methods", R("a").paths({"/x"}), R("b").paths({"/x"}), true},
           {"methods beside none: the one with methods wins", R("a").paths({"/x"}),
            R("b").methods({"GET"}).paths({"/x"}), false},
           {"disjoint methods", R("a").methods({"GET"}).paths({"/x"}),
            R("b").methods({"POST"}).paths({"/x"}), false},
           {"different headers", R("a").paths({"/x"}).headers({{"v", "1"}}),
            R("b").paths({"/x"}).headers({{"v", "2"}}), false},
           {"same headers", R("a").paths({"/x"}).headers({{"v", "1"}}),
            R("b").paths({"/x"}).headers({{"v", "1"}}), true},
           {"different hosts", R("a").hosts({"a.org"}).paths({"/x"}),
            R("b").hosts({"b.org"}).paths({"/x"}), false},
           {"host vs none", R("a").hosts({"a.org"}).paths({"/x"}), R("b").paths({"/x"}), false},
           {"{a} vs *", R("a").paths({"/x/{a}"}), R("b").paths({"/x/*"}), false},
           {"trailing slash", R("a").paths({"/x"}), R("b").paths({"/x/"}), false},
           {"implicit /**", R("a"), R("b").paths({"/**"}), true},
           {"same regex", R("a").regex("^/r"), R("b").regex("^/r"), true},
           {"same regex, other methods", R("a").methods({"GET"}).regex("^/r"),
            R("b").methods({"PUT"}).regex("^/r"), false},
       }) {
    std::vector<config::ConfigError> errors;
    const bool built = Router::build({c.a, c.b}, errors) != nullptr;
    EXPECT_EQ(!built, c.duplicate) << c.what;
    if (c.duplicate) {
      ASSERT_EQ(errors.size(), 1u) << c.what;
      EXPECT_EQ(errors[0].path, "routes[1]") << c.what;
      EXPECT_EQ(errors[0].message, "same conditions as route \"a\" (routes[0])") << c.what;
    }
  }
}

// The reason given for `route` when explaining a request to the table configuration.
std::string reason(const Router& router, const std::string& route, const RouteRequest& request) {
  for (const Candidate& candidate : router.explain(request).candidates) {
    if (candidate.route == route) return candidate.reason;
  }
  return "(no candidate " + route + ")";
}

TEST(RouterExplain, Reasons) {
  std::vector<config::ConfigError> errors;
  const auto router = Router::build(table_routes(), errors);
  ASSERT_TRUE(router);
  const MapHeaders none({});
  const MapHeaders v3(std::map<std::string, std::string>{{"x-version", "3"}});
  const MapHeaders v2(std::map<std::string, std::string>{{"x-version", "2"}});

  const RouteRequest host_x{"GET", "x.example.com", "/h/x", &none};
  EXPECT_EQ(reason(*router, "host-wild", host_x), "selected: host *.example.com, path /h/**");
  EXPECT_EQ(reason(*router, "host-exact", host_x), "host does not match");
  EXPECT_EQ(reason(*router, "host-none", host_x), "lower precedence: wildcard host beats no host");
  EXPECT_EQ(reason(*router, "u-me", host_x), "path does not match");
  EXPECT_EQ(reason(*router, "re-first", host_x), "path does not match the regex");

  const RouteRequest deep{"GET", "x.b.example.com", "/h/x", &none};
  EXPECT_EQ(reason(*router, "host-wild", deep),
            "lower precedence: wildcard *.b.example.com beats *.example.com");
  const RouteRequest exact{"GET", "api.example.com", "/h/x", &none};
  EXPECT_EQ(reason(*router, "host-wild", exact),
            "lower precedence: exact host beats wildcard host");
  EXPECT_EQ(reason(*router, "host-none", exact), "lower precedence: exact host beats no host");

  const RouteRequest users{"GET", "", "/users/me", &none};
  EXPECT_EQ(reason(*router, "u-me", users), "selected: any host, path /users/me");
  EXPECT_EQ(reason(*router, "u-id", users),
            "lower precedence: static segment beats {id} at segment 2");
  EXPECT_EQ(reason(*router, "u-rest", users),
            "lower precedence: static segment beats ** at segment 2");
  EXPECT_EQ(reason(*router, "re-users", users),
            "regex routes are tried only when no paths route matches");
  const RouteRequest posts{"GET", "", "/users/5/posts", &none};
  EXPECT_EQ(reason(*router, "u-any-posts", posts), "lower precedence: {id} beats * at segment 2");
  const RouteRequest api{"GET", "", "/api/v1", &none};
  EXPECT_EQ(reason(*router, "api", api), "lower precedence: static segment beats ** at segment 2");

  EXPECT_EQ(reason(*router, "mm-any", {"GET", "", "/mm", &none}),
            "lower precedence: a route with methods beats one without");
  const RouteRequest post_m{"POST", "", "/m", &none};
  EXPECT_EQ(reason(*router, "m-get", post_m), "method POST not allowed (GET)");

  EXPECT_EQ(reason(*router, "hdr-one", {"GET", "", "/hd", &v3}), "header x-version does not match");
  EXPECT_EQ(reason(*router, "hdr-none", {"GET", "", "/hd", &v2}),
            "lower precedence: a route with header conditions beats one without");
  EXPECT_EQ(reason(*router, "hdr-two", {"GET", "", "/hd", &v2}), "header x-beta does not match");

  const RouteRequest regex{"GET", "", "/re/42", &none};
  EXPECT_EQ(reason(*router, "re-first", regex), "selected: any host, regex ^/re/[0-9]+$");
  EXPECT_EQ(reason(*router, "re-second", regex),
            "lower precedence: regex routes are tried in file order, and route \"re-first\" "
            "(routes[22]) comes first");

  const Explanation not_allowed = router->explain({"PUT", "", "/m", &none});
  EXPECT_EQ(not_allowed.match.status, 405);
  EXPECT_EQ(not_allowed.candidates[0].route, "host-exact");  // no winner: file order
}

}  // namespace
}  // namespace turnpike::routing
