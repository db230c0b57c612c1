// The Date header value (RFC 9110 IMF-fixdate), formatted at most once a second per thread.
#pragma once

#include <string_view>

namespace turnpike::http {

std::string_view http_date_now();

}  // namespace turnpike::http
