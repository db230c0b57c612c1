// Route path patterns: parsing with precise errors, and one-pattern matching for explain().
#include "routing/pattern.h"

#include <algorithm>

#include "routing/path.h"

namespace turnpike::routing {
namespace {

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

bool valid_param_name(std::string_view name) {
  if (name.empty() || !is_name_start(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), is_name_char);
}

// A static segment is normalized like a request path, so that "/%7Eadmin" in a pattern matches
// the request "/~admin" (which normalization decodes). Returns an error message or "".
std::string normalize_static(std::string_view segment, std::string& normalized) {
  std::string scratch = "/";
  scratch.append(segment);
  std::string out;
  const PathStatus status = normalize_path(scratch, out);
  if (status == PathStatus::kClimbsAboveRoot || (status == PathStatus::kOk && out == "/")) {
    return "`.` and `..` segments are not allowed: request paths are normalized before "
           "matching, so the pattern would never match";
  }
  if (status != PathStatus::kOk) {
    return std::string("segment \"") + std::string(segment) + "\": " + to_string(status);
  }
  normalized = out.substr(1);
  return "";
}

}  // namespace

std::string Pattern::canonical() const {
  std::string out;
  for (const PatternSegment& segment : segments) {
    out += '/';
    switch (segment.kind) {
      case SegmentKind::kStatic:
        out += segment.text;
        break;
      case SegmentKind::kParam:
        out += "{}";
        break;
      case SegmentKind::kAny:
        out += "*";
        break;
      case SegmentKind::kRest:
        out += "**";
        break;
    }
  }
  return out;
}

bool parse_pattern(std::string_view text, Pattern& out, std::string& error) {
  out = Pattern{};
  out.source = std::string(text);
  if (text.empty() || text[0] != '/') {
    error = "pattern must start with '/'";
    return false;
  }
  std::vector<std::string_view> raw_segments;
  for (size_t pos = 1;;) {
    const size_t slash = text.find('/', pos);
    raw_segments.push_back(text.substr(pos, slash == std::string_view::npos ? slash : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  for (size_t i = 0; i < raw_segments.size(); ++i) {
    const std::string_view raw = raw_segments[i];
    const bool last = i + 1 == raw_segments.size();
    PatternSegment segment;
    if (raw == "**") {
      if (!last) {
        error = "`**` must be the last segment";
        return false;
      }
      segment.kind = SegmentKind::kRest;
    } else if (raw == "*") {
      segment.kind = SegmentKind::kAny;
    } else if (!raw.empty() && raw.front() == '{') {
      if (raw.back() != '}' || raw.find('}') != raw.size() - 1 ||
          raw.find('{', 1) != std::string_view::npos) {
        error =
            "a parameter must be a whole segment, e.g. /users/{id}: \"" + std::string(raw) + "\"";
        return false;
      }
      const std::string_view name = raw.substr(1, raw.size() - 2);
      if (name.empty()) {
        error = "empty parameter name `{}`";
        return false;
      }
      if (!valid_param_name(name)) {
        error = "invalid parameter name \"" + std::string(name) +
                "\": use letters, digits and '_', not starting with a digit";
        return false;
      }
      for (const PatternSegment& earlier : out.segments) {
        if (earlier.kind == SegmentKind::kParam && earlier.text == name) {
          error = "duplicate parameter name \"" + std::string(name) + "\"";
          return false;
        }
      }
      segment.kind = SegmentKind::kParam;
      segment.text = std::string(name);
    } else {
      if (raw.find('{') != std::string_view::npos) {
        error =
            "`{` inside a static segment: a parameter must be a whole segment, e.g. "
            "/users/{id}: \"" +
            std::string(raw) + "\"";
        return false;
      }
      if (raw.find('}') != std::string_view::npos) {
        error = "`}` without `{` in segment \"" + std::string(raw) + "\"";
        return false;
      }
      if (raw.find("**") != std::string_view::npos) {
        error = "`**` must be a whole segment: \"" + std::string(raw) + "\"";
        return false;
      }
      if (raw.find('*') != std::string_view::npos) {
        error = "`*` must be a whole segment: \"" + std::string(raw) + "\"";
        return false;
      }
      if (raw.find_first_of("?#") != std::string_view::npos) {
        error = "`?` and `#` are not allowed: the path is matched without query or fragment";
        return false;
      }
      if (raw.empty() && !last) {
        error =
            "empty segment (`//`): request paths are normalized before matching, so the "
            "pattern would never match";
        return false;
      }
      segment.kind = SegmentKind::kStatic;
      if (!raw.empty()) {
        error = normalize_static(raw, segment.text);
        if (!error.empty()) return false;
      }
    }
    out.segments.push_back(std::move(segment));
  }
  return true;
}

std::string pattern_error(std::string_view text) {
  Pattern unused;
  std::string error;
  return parse_pattern(text, unused, error) ? std::string() : error;
}

bool match_pattern(const Pattern& pattern, std::string_view path, PatternMatch& match) {
  match = PatternMatch{};
  if (path.empty() || path[0] != '/') return false;
  size_t pos = 1;  // start of the current path segment
  bool has_more = true;
  for (const PatternSegment& segment : pattern.segments) {
    if (segment.kind == SegmentKind::kRest) {
      match.ranks.push_back(StepRank::kRest);
      match.prefix_length = has_more ? pos - 1 : path.size();
      return true;
    }
    if (!has_more) return false;
    const size_t slash = path.find('/', pos);
    const std::string_view value =
        path.substr(pos, slash == std::string_view::npos ? slash : slash - pos);
    switch (segment.kind) {
      case SegmentKind::kStatic:
        if (value != segment.text) return false;
        match.ranks.push_back(StepRank::kStatic);
        break;
      case SegmentKind::kParam:
      case SegmentKind::kAny:
        if (value.empty()) return false;
        match.ranks.push_back(segment.kind == SegmentKind::kParam ? StepRank::kParam
                                                                  : StepRank::kAny);
        break;
      case SegmentKind::kRest:
        break;  // handled above
    }
    if (slash == std::string_view::npos) {
      has_more = false;
    } else {
      pos = slash + 1;
    }
  }
  if (has_more) return false;
  match.ranks.push_back(StepRank::kEnd);
  return true;
}

}  // namespace turnpike::routing
