// The gateway's lifecycle: load and compile the configuration, bind the listeners, start one
// worker per core, then serve until a signal says reload (SIGHUP) or drain (SIGTERM/SIGINT).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/model.h"

namespace turnpike::app {

struct Options {
  std::string config_path;
  int workers = 0;        // 0: from the config (auto = one per CPU)
  std::string log_level;  // empty: from the config
};

// Loads, validates and compiles a configuration without binding anything (`turnpike validate`).
std::vector<config::ConfigError> validate(const std::string& config_path);

// Runs the gateway; returns the process exit code (0 after a drain, 1 on a bad start).
int run(const Options& options);

}  // namespace turnpike::app
