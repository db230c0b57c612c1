// Error log lines (see log.h).
#include "observe/log.h"

#include "text/json_string.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace turnpike::observe {
namespace {

std::mutex g_write_mutex;

const char* name_of(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void append_escaped(std::string& out, std::string_view s) { text::append_json_escaped(out, s); }

}  // namespace

bool parse_level(std::string_view text, Level& out) {
  for (Level l : {Level::kDebug, Level::kInfo, Level::kWarn, Level::kError}) {
    if (text == name_of(l)) {
      out = l;
      return true;
    }
  }
  return false;
}

void set_log_level(Level level) { detail::g_log_level.store(static_cast<int>(level)); }

std::string rfc3339_now() {
  auto now = std::chrono::system_clock::now();
  std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
            1000;
  std::tm tm;
  gmtime_r(&seconds, &tm);
  char text[40];
  std::size_t n = std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof(text) - n, ".%03dZ", static_cast<int>(ms));
  return text;
}

void log(Level level, std::string_view message, std::initializer_list<Field> fields) {
  if (!log_enabled(level)) return;
  std::string line = "{\"time\":\"" + rfc3339_now() + "\",\"level\":\"" + name_of(level) +
                     "\",\"msg\":\"";
  append_escaped(line, message);
  line += '"';
  for (const auto& [key, value] : fields) {
    line += ",\"";
    append_escaped(line, key);
    line += "\":\"";
    append_escaped(line, value);
    line += '"';
  }
  line += "}\n";
  std::lock_guard lock(g_write_mutex);
  [[maybe_unused]] auto rc = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace turnpike::observe
