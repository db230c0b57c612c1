// The open-file limit (RLIMIT_NOFILE): every client and upstream connection is a descriptor, and
// the usual soft limit (1024, or whatever the shell set) is far below what a gateway holds.
#pragma once

#include <cstdint>

#include "config/model.h"

namespace turnpike::app {

struct OpenFileLimit {
  uint64_t before = 0;  // the soft limit the process started with
  uint64_t now = 0;     // the soft limit after raising it
  uint64_t hard = 0;
};

// Raises the soft limit to the hard one (a process may, without privileges).
OpenFileLimit raise_open_file_limit();

// What a configuration may hold open at once: every client connection (max_connections), an
// upstream connection for each of them while its request is in flight, every idle pooled
// upstream connection (targets x keepalive.max_idle_per_worker x workers), and a margin for the
// listeners, the loops, the admin API and the log files.
uint64_t descriptors_needed(const config::Config& config, int workers);

// Logs a warning when the configuration does not fit in the current soft limit.
void warn_if_too_few_files(const config::Config& config, int workers);

}  // namespace turnpike::app
