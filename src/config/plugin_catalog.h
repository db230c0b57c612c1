// PluginCatalog: the plugins this build knows, by name, each with the function that turns its
// YAML block into an immutable PluginConfig. The loader uses it for `plugins:` maps.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/reader.h"

namespace turnpike::config {

class PluginCatalog {
 public:
  // Parses and validates one plugin's block (the Reader is at e.g. "routes[0].plugins.jwt").
  // Records every problem through the Reader and returns null when there was any; otherwise a
  // config that is never null. Must not throw (an exception is reported as an error anyway).
  using ParseFn = std::function<std::shared_ptr<const PluginConfig>(const Reader& block)>;

  // Registers `name`; a second add() of the same name replaces the first.
  void add(std::string name, ParseFn parse);
  bool contains(std::string_view name) const;
  std::vector<std::string> names() const;  // sorted

  // Parses a `plugins:` map (global or a route's): one entry per plugin, in the order written.
  // A name not registered here is an error at PATH.name: `unknown plugin "jwtt"` (with a
  // suggestion), or, for a plugin SPEC §3 defines, `plugin "jwt" is not available in this build
  // yet`. Entries with errors are left out. `running` (may be null) is the same map in the
  // running configuration: a secret written as "***" there (GET /config's redaction) keeps the
  // running plugin's value at the same place, so that a dumped configuration loads back.
  std::vector<PluginEntry> parse(const Reader& plugins,
                                 const std::vector<PluginEntry>* running = nullptr) const;

  // The plugin names SPEC §3 defines, whether or not they are registered.
  static const std::vector<std::string>& spec_names();

 private:
  std::map<std::string, ParseFn, std::less<>> parsers_;
};

}  // namespace turnpike::config
