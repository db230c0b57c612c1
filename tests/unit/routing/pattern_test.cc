// Path patterns: parsing (good and bad) and one-pattern matching, and host entries.
#include "routing/pattern.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "routing/host.h"

namespace turnpike::routing {
namespace {

Pattern parse(std::string_view text) {
  Pattern pattern;
  std::string error;
  EXPECT_TRUE(parse_pattern(text, pattern, error)) << text << ": " << error;
  return pattern;
}

std::string parse_error(std::string_view text) {
  Pattern pattern;
  std::string error;
  EXPECT_FALSE(parse_pattern(text, pattern, error)) << text;
  return error;
}

TEST(ParsePattern, Segments) {
  struct Case {
    const char* text;
    const char* canonical;
    size_t segments;
  };
  for (const Case& c : std::vector<Case>{
           {"/", "/", 1},
           {"/api/v1/users", "/api/v1/users", 3},
           {"/users/", "/users/", 2},
           {"/users/{id}", "/users/{}", 2},
           {"/users/{user_id2}/posts/{_p}", "/users/{}/posts/{}", 4},
           {"/files/*/raw", "/files/*/raw", 3},
           {"/api/**", "/api/**", 2},
           {"/**", "/**", 1},
           {"/a/{id}/*/**", "/a/{}/*/**", 4},
           {"/%7euser/%3a", "/~user/%3A", 2},  // normalized like a request path
       }) {
    const Pattern pattern = parse(c.text);
    EXPECT_EQ(pattern.source, c.text);
    EXPECT_EQ(pattern.canonical(), c.canonical) << c.text;
    EXPECT_EQ(pattern.segments.size(), c.segments) << c.text;
  }
  const Pattern p = parse("/users/{id}/*/**");
  EXPECT_EQ(p.segments[0].kind, SegmentKind::kStatic);
  EXPECT_EQ(p.segments[0].text, "users");
  EXPECT_EQ(p.segments[1].kind, SegmentKind::kParam);
  EXPECT_EQ(p.segments[1].text, "id");
  EXPECT_EQ(p.segments[2].kind, SegmentKind::kAny);
  EXPECT_EQ(p.segments[3].kind, SegmentKind::kRest);
  EXPECT_TRUE(p.ends_with_rest());
  EXPECT_FALSE(parse("/users").ends_with_rest());
}

TEST(ParsePattern, Errors) {
  struct Case {
    const char* text;
    const char* error_has;
  };
  for (const Case& c : std::vector<Case>{
           {"", "must start with '/'"},
           {"api/v1", "must start with '/'"},
           {"/a/**/b", "`**` must be the last segment"},
           {"/**/", "`**` must be the last segment"},
           {"/a/b**", "`**` must be a whole segment"},
           {"/a/*.js", "`*` must be a whole segment"},
           {"/a/{}", "empty parameter name"},
           {"/a/x{id}", "`{` inside a static segment"},
           {"/a/{id}x", "a parameter must be a whole segment"},
           {"/a/{id", "a parameter must be a whole segment"},
           {"/a/{{id}}", "a parameter must be a whole segment"},
           {"/a/id}", "`}` without `{`"},
           {"/a/{1id}", "invalid parameter name \"1id\""},
           {"/a/{user-id}", "invalid parameter name"},
           {"/a/{id}/b/{id}", "duplicate parameter name \"id\""},
           {"/a//b", "empty segment"},
           {"/a/./b", "`.` and `..` segments"},
           {"/a/../b", "`.` and `..` segments"},
           {"/a/%2e%2e", "`.` and `..` segments"},
           {"/a?x=1", "`?` and `#`"},
           {"/a%zz", "two hex digits"},
           {"/a%2Fb", "encoded '/'"},
           {"/a\x01", "control character"},
       }) {
    const std::string error = parse_error(c.text);
    EXPECT_NE(error.find(c.error_has), std::string::npos)
        << c.text << ": got \"" << error << "\", want it to contain \"" << c.error_has << "\"";
  }
}

TEST(MatchPattern, LikeTheTree) {
  struct Case {
    const char* pattern;
    const char* path;
    bool matches;
    size_t prefix_length;
  };
  for (const Case& c : std::vector<Case>{
           {"/", "/", true, 0},
           {"/", "/a", false, 0},
           {"/users", "/users", true, 0},
           {"/users", "/users/", false, 0},  // a trailing '/' is significant
           {"/users/", "/users/", true, 0},
           {"/users/{id}", "/users/5", true, 0},
           {"/users/{id}", "/users/", false, 0},  // {param} needs a non-empty segment
           {"/users/*", "/users/", false, 0},
           {"/users/*/x", "/users/5/x", true, 0},
           {"/api/**", "/api", true, 4},
           {"/api/**", "/api/", true, 4},
           {"/api/**", "/api/x/y", true, 4},
           {"/api/**", "/apix", false, 0},
           {"/api/v1/**", "/api/v1/users/5", true, 7},
           {"/**", "/", true, 0},
           {"/**", "/a/b", true, 0},
       }) {
    PatternMatch match;
    EXPECT_EQ(match_pattern(parse(c.pattern), c.path, match), c.matches)
        << c.pattern << " on " << c.path;
    if (c.matches) {
      EXPECT_EQ(match.prefix_length, c.prefix_length) << c.pattern << " " << c.path;
    }
  }
  PatternMatch match;
  ASSERT_TRUE(match_pattern(parse("/users/{id}"), "/users/5", match));
  EXPECT_EQ(match.ranks,
            (std::vector<StepRank>{StepRank::kStatic, StepRank::kParam, StepRank::kEnd}));
}

TEST(HostEntry, ParsesAndRanks) {
  HostEntry exact;
  ASSERT_EQ(parse_host_entry("API.Example.com", exact), "");
  EXPECT_EQ(exact.kind, HostEntry::Kind::kExact);
  EXPECT_EQ(exact.name, "api.example.com");
  HostEntry wildcard;
  ASSERT_EQ(parse_host_entry("*.example.com", wildcard), "");
  EXPECT_EQ(wildcard.kind, HostEntry::Kind::kWildcard);
  EXPECT_EQ(wildcard.to_string(), "*.example.com");
  HostEntry v6;
  ASSERT_EQ(parse_host_entry("[::1]", v6), "");
  EXPECT_EQ(v6.name, "::1");
  HostEntry bad;
  EXPECT_NE(parse_host_entry("a.*.com", bad), "");
  EXPECT_NE(parse_host_entry("*example.com", bad), "");
  EXPECT_NE(parse_host_entry("", bad), "");

  EXPECT_EQ(host_rank(exact, "api.example.com"), kHostRankExact);
  EXPECT_EQ(host_rank(exact, "x.example.com"), kHostRankNoMatch);
  EXPECT_EQ(host_rank(wildcard, "example.com"), kHostRankNoMatch);
  EXPECT_EQ(host_rank(wildcard, "xexample.com"), kHostRankNoMatch);
  EXPECT_LT(host_rank(wildcard, "a.b.example.com"), kHostRankAny);
  HostEntry longer;
  ASSERT_EQ(parse_host_entry("*.b.example.com", longer), "");
  EXPECT_LT(host_rank(longer, "a.b.example.com"), host_rank(wildcard, "a.b.example.com"));
}

TEST(CanonicalHost, StripsPortCaseBracketsAndTrailingDot) {
  char buffer[kMaxHostLength];
  std::string_view host;
  for (const auto& [raw, want] : std::vector<std::pair<std::string, std::string>>{
           {"API.Example.COM", "api.example.com"},
           {"api.example.com:8443", "api.example.com"},
           {"api.example.com.", "api.example.com"},
           {"[::1]:8080", "::1"},
           {"[2001:DB8::1]", "2001:db8::1"},
           {"127.0.0.1:80", "127.0.0.1"},
           {"", ""},
       }) {
    ASSERT_TRUE(canonical_host(raw, buffer, host)) << raw;
    EXPECT_EQ(host, want) << raw;
  }
  EXPECT_FALSE(canonical_host(std::string(300, 'a'), buffer, host));
  EXPECT_EQ(host, "");
}

}  // namespace
}  // namespace turnpike::routing
