// JSON string escaping shared by every JSON the gateway writes (error bodies, logs, echo). Bytes
// from the network are not always UTF-8: a byte that does not start a valid UTF-8 sequence is
// written as \u00XX (its Latin-1 reading), so the output is always valid JSON.
#pragma once

#include <string>
#include <string_view>

namespace turnpike::text {

// True when `s` is valid UTF-8 (RFC 3629), as JSON text must be.
bool is_valid_utf8(std::string_view s);

// Appends `s` escaped for the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view s);

// The same into a raw buffer that has room for escaped_bound(s.size()) bytes; returns the end.
char* write_json_escaped(char* out, std::string_view s);
constexpr std::size_t escaped_bound(std::size_t length) { return 6 * length; }

}  // namespace turnpike::text
