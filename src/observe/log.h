// The error log: one JSON object per line (SPEC §8: time, level, msg, and fields). Only control
// events and failures are logged here, never one line per request (that is the access log).
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace turnpike::observe {

enum class Level { kDebug, kInfo, kWarn, kError };

// Parses "debug|info|warn|error"; false when unknown.
bool parse_level(std::string_view text, Level& out);
void set_log_level(Level level);
bool log_enabled(Level level);

using Field = std::pair<std::string_view, std::string_view>;
void log(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void log_debug(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kDebug, m, f); }
inline void log_info(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kInfo, m, f); }
inline void log_warn(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kWarn, m, f); }
inline void log_error(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kError, m, f); }

// RFC 3339 UTC time with milliseconds, e.g. 2026-11-28T22:27:04.123Z.
std::string rfc3339_now();

}  // namespace turnpike::observe
