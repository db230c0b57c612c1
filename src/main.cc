// turnpike's command line (SPEC §1). Everything else lives in app/.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "app/gateway.h"
#include "config/loader.h"
#include "observe/log.h"

#ifndef TURNPIKE_VERSION
#define TURNPIKE_VERSION "dev"
#endif

namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  turnpike --config FILE [--workers N] [--log-level debug|info|warn|error]\n"
    "  turnpike validate --config FILE\n"
    "  turnpike version\n";

int usage_error(const std::string& why) {
  std::fprintf(stderr, "turnpike: %s\n%s", why.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace turnpike;
  int i = 1;
  std::string command = "run";
  if (argc > 1 && argv[1][0] != '-') {
    command = argv[1];
    i = 2;
  }
  if (command == "version") {
    std::printf("turnpike %s\n", TURNPIKE_VERSION);
    return 0;
  }
  if (command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (command == "import") {
    std::fprintf(stderr, "turnpike: import is not available in this build yet\n");
    return 2;
  }
  if (command != "run" && command != "validate") return usage_error("unknown command " + command);

  app::Options options;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      if (i + 1 >= argc) return nullptr;
      (void)flag;
      return argv[++i];
    };
    if (arg == "--config") {
      const char* v = value("--config");
      if (!v) return usage_error("--config needs a file");
      options.config_path = v;
    } else if (arg == "--workers" && command == "run") {
      const char* v = value("--workers");
      char* end = nullptr;
      long n = v ? std::strtol(v, &end, 10) : 0;
      if (!v || *end != '\0' || n < 1 || n > 1024) {
        return usage_error("--workers needs a number from 1 to 1024");
      }
      options.workers = static_cast<int>(n);
    } else if (arg == "--log-level" && command == "run") {
      const char* v = value("--log-level");
      observe::Level level;
      if (!v || !observe::parse_level(v, level)) {
        return usage_error("--log-level must be debug, info, warn or error");
      }
      options.log_level = v;
    } else if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      return usage_error("unknown argument " + std::string(arg));
    }
  }
  if (options.config_path.empty()) return usage_error("--config is required");
  if (options.config_path.rfind("etcd://", 0) == 0) {
    std::fprintf(stderr, "turnpike: etcd configuration sources are not available in this build yet\n");
    return 1;
  }

  if (command == "validate") {
    auto errors = app::validate(options.config_path);
    if (!errors.empty()) {
      std::fputs(config::format_errors(errors).c_str(), stderr);
      return 1;
    }
    std::puts("config OK");
    return 0;
  }
  return app::run(options);
}
