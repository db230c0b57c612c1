// The open-file limit (see open_files.h).
#include "app/open_files.h"

#include <sys/resource.h>

#include <fstream>
#include <string>

#include "observe/log.h"

namespace turnpike::app {
namespace {

constexpr uint64_t kMargin = 64;  // listeners per worker, epoll and event fds, admin, logs

// An unlimited hard limit still cannot be set above fs.nr_open.
uint64_t kernel_maximum() {
  std::ifstream in("/proc/sys/fs/nr_open");
  uint64_t value = 0;
  if (in >> value && value > 0) return value;
  return 1048576;
}

}  // namespace

OpenFileLimit raise_open_file_limit() {
  OpenFileLimit out;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return out;
  out.before = out.now = limit.rlim_cur;
  out.hard = limit.rlim_max == RLIM_INFINITY ? kernel_maximum() : limit.rlim_max;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < out.hard) {
    rlimit raised{out.hard, limit.rlim_max};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) out.now = out.hard;
  }
  return out;
}

uint64_t descriptors_needed(const config::Config& config, int workers) {
  uint64_t clients = config.server.limits.max_connections;
  uint64_t idle = 0;
  for (const auto& [name, upstream] : config.upstreams) {
    idle += upstream.targets.size() * upstream.keepalive.max_idle_per_worker;
  }
  return clients * 2 + idle * static_cast<uint64_t>(workers) +
         kMargin * static_cast<uint64_t>(workers);
}

void warn_if_too_few_files(const config::Config& config, int workers) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
  uint64_t needed = descriptors_needed(config, workers);
  if (needed <= limit.rlim_cur) return;
  observe::log_warn(
      "the open file limit is lower than this configuration may need: connections beyond it "
      "will be refused",
      {{"limit", std::to_string(limit.rlim_cur)},
       {"needed", std::to_string(needed)},
       {"max_connections", std::to_string(config.server.limits.max_connections)},
       {"hint",
        "raise the limit (LimitNOFILE= in the systemd unit, ulimit -n) or lower "
        "server.limits.max_connections (each client connection may hold an upstream one too)"}});
}

}  // namespace turnpike::app
