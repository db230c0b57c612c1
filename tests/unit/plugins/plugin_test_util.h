// What the plugin unit tests share: a plugin's block parsed from YAML with its errors as
// `turnpike validate` prints them, and the row type of their config-error tables.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::plugins::testing_util {

struct Parsed {
  std::shared_ptr<const config::PluginConfig> config;
  std::vector<std::string> errors;  // "PATH: message"
};

// The block at `path` (e.g. "plugins.cors"), read from `yaml` by `parse`.
template <typename ParseFn>
Parsed parse_block(ParseFn parse, const std::string& yaml, const std::string& path) {
  std::vector<config::ConfigError> errors;
  Parsed out{parse(config::Reader::root(YAML::Load(yaml), errors, {}, path)), {}};
  for (const config::ConfigError& e : errors) out.errors.push_back(e.path + ": " + e.message);
  return out;
}

// A row of a config-error table: its test name, the block, the one error it must give.
struct BadConfig {
  const char* name;
  const char* yaml;
  const char* error;
};
inline void PrintTo(const BadConfig& c, std::ostream* os) { *os << c.yaml; }

// Asserts that the row's block, at `path`, is refused with exactly the row's error.
template <typename ParseFn>
void expect_refused(ParseFn parse, const std::string& path, const BadConfig& row) {
  Parsed parsed = parse_block(parse, row.yaml, path);
  EXPECT_EQ(parsed.config, nullptr);
  EXPECT_THAT(parsed.errors, ::testing::ElementsAre(row.error));
}

}  // namespace turnpike::plugins::testing_util
