// Percent-decoding of URL components, shared by the admin API's query and key_auth's query
// parameters.
#pragma once

#include <string>
#include <string_view>

namespace turnpike::text {

// `text` with %XX escapes decoded and '+' read as a space (as HTML forms send it); a '%' not
// followed by two hex digits is kept as it is.
std::string url_decode(std::string_view text);

}  // namespace turnpike::text
