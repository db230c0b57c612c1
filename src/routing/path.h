// Request path normalization (SPEC §2.1): the path that is routed is the path that is forwarded.
#pragma once

#include <string>
#include <string_view>

namespace turnpike::routing {

enum class PathStatus {
  kOk,
  kNotOrigin,       // does not start with '/'
  kClimbsAboveRoot, // ".." above "/"
  kEncodedSlash,    // %2F or %5C, or a raw '\' (a separator to some upstreams)
  kControlChar,     // NUL or a control character, raw or percent-encoded
  kBadEncoding,     // '%' not followed by two hex digits
};

const char* to_string(PathStatus status);

// Normalizes `raw` (the path part of an origin-form request target, without '?query') into
// `out`: percent-encoded unreserved characters are decoded, other escapes have upper-case hex,
// "." and ".." segments are resolved, "//" is merged. A trailing '/' is kept. `out` is cleared
// first; no allocation when its capacity suffices.
PathStatus normalize_path(std::string_view raw, std::string& out);

}  // namespace turnpike::routing
