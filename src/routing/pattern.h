// Route path patterns (SPEC §2.1): parsed once at build time into the segments the router's tree
// is made of, and matched one at a time by explain() and the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace turnpike::routing {

enum class SegmentKind : uint8_t {
  kStatic,  // "users": exactly this text (normalized like a request path)
  kParam,   // "{id}": any one non-empty segment
  kAny,     // "*": any one non-empty segment, below a named one
  kRest,    // "**", last only: the rest of the path, including nothing
};

struct PatternSegment {
  SegmentKind kind = SegmentKind::kStatic;
  std::string text;  // kStatic: the normalized text ("" for a trailing '/'); kParam: the name
};

// A parsed pattern. Path segments are what lies between the '/'s after the leading one, so "/"
// is one empty segment and "/users/" is "users" then an empty one: a trailing '/' is significant,
// as it is in the normalized request path.
struct Pattern {
  std::string source;  // as written
  std::vector<PatternSegment> segments;

  bool ends_with_rest() const {
    return !segments.empty() && segments.back().kind == SegmentKind::kRest;
  }
  // The pattern with parameter names erased ("/users/{}/**"): two patterns with the same
  // canonical form match exactly the same paths.
  std::string canonical() const;
};

// Parses `text` into `out`. On failure returns false and sets `error` to a message fit for
// "routes[3].paths[0]: <error>".
bool parse_pattern(std::string_view text, Pattern& out, std::string& error);
// The error parse_pattern gives for `text`, or "" for a valid pattern: what the configuration
// loader checks every route path with (config::LoadOptions::path_pattern_error).
std::string pattern_error(std::string_view text);

// Rank of one matched pattern segment: lower wins, and two matches of the same path compare
// lexicographically on their ranks. This is the order the router's tree is searched in.
enum class StepRank : uint8_t { kStatic, kParam, kAny, kEnd, kRest };

struct PatternMatch {
  std::vector<StepRank> ranks;  // one per segment, then kEnd unless the pattern ends in `**`
  size_t prefix_length = 0;     // with `**`: bytes of the path before it ("/api/v1" → 7)
};

// Matches `pattern` against a normalized path, exactly as the router's tree does; fills `match`
// when it matches. Not the hot path (that is the tree): for explain() and tests.
bool match_pattern(const Pattern& pattern, std::string_view path, PatternMatch& match);

}  // namespace turnpike::routing
