// The error log: one JSON object per line (SPEC §8: time, level, msg, and fields). Only control
// events and failures are logged here, never one line per request (that is the access log).
#pragma once

#include <atomic>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace turnpike::observe {

enum class Level { kDebug, kInfo, kWarn, kError };

// Parses "debug|info|warn|error"; false when unknown.
bool parse_level(std::string_view text, Level& out);
void set_log_level(Level level);

namespace detail {
inline std::atomic<int> g_log_level{static_cast<int>(Level::kInfo)};
}  // namespace detail

// One relaxed load, inlined: a call site that builds fields only after this check costs nothing
// more when its level is off (debug lines on the request path rely on it).
inline bool log_enabled(Level level) {
  return static_cast<int>(level) >= detail::g_log_level.load(std::memory_order_relaxed);
}

using Field = std::pair<std::string_view, std::string_view>;
void log(Level level, std::string_view message, std::initializer_list<Field> fields = {});

inline void log_debug(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kDebug, m, f); }
inline void log_info(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kInfo, m, f); }
inline void log_warn(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kWarn, m, f); }
inline void log_error(std::string_view m, std::initializer_list<Field> f = {}) { log(Level::kError, m, f); }

// RFC 3339 UTC time with milliseconds, e.g. 2026-11-28T22:27:04.123Z.
std::string rfc3339_now();

}  // namespace turnpike::observe
