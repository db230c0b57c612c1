// What changed between two configurations: every change (for the debug log of a reload), and
// the settings a reload cannot apply, which wait for a restart (GET /config shows both values).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/model.h"

namespace turnpike::config {

// A restart-only setting whose new value waits for the next start.
struct RestartPending {
  std::string key;         // "server.listeners", "server.workers"
  nlohmann::json running;  // the value in use
  nlohmann::json wanted;   // the value the new configuration asks for
};

// The settings only a start applies (the listening sockets and the worker threads): `next`
// takes the running values of those, so that it describes what runs, and what it asked for
// instead is returned.
std::vector<RestartPending> keep_restart_only(const Config& running, Config& next);

// One line per changed setting, secrets redacted, e.g.
//   "routes[api].paths: [\"/a\"] -> [\"/a\",\"/b\"]", "upstreams.users: added".
// Lists of named items (routes, listeners, consumers) are compared by name.
std::vector<std::string> describe_changes(const Config& before, const Config& after);

}  // namespace turnpike::config
