// Internal to the loader: one parse function per top-level section, shared between loader*.cc.
// Each reads its section through a Reader, fills the model and records errors; none throws.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"
#include "config/plugin_catalog.h"
#include "config/reader.h"

namespace turnpike::config::detail {

// loader.cc
// Reads `item.name` (`fallback` when absent; without one, the name is required) and records a
// name used before as `duplicate <what> name "x" (also <path of the first>)`. `seen` maps the
// names read so far to their item's path.
std::string read_unique_name(const Reader& item, std::string_view what,
                             std::optional<std::string> fallback,
                             std::map<std::string, std::string>& seen);

// A secret written as "***" (GET /config's redaction): the running value it stands for, or an
// error at `value` when there is none (`running_value` null or empty).
std::optional<std::string> keep_redacted(const Reader& value, const std::string& text,
                                         const std::string* running_value);

// loader_server.cc
void parse_server(const Reader& section, Server& out);
// Needs the listeners, to refuse an admin address one of them already takes; `running` (may be
// null) gives the token that a "***" keeps.
void parse_admin(const Reader& section, const Server& server, const Config* running, Admin& out);
void parse_logging(const Reader& section, Logging& out);
void parse_tracing(const Reader& section, Tracing& out);

// loader_upstreams.cc
// Every name written is added to `declared`, even when its block has errors, so that a route
// naming it does not get a second, misleading "unknown upstream".
void parse_upstreams(const Reader& section, std::map<std::string, Upstream>& out,
                     std::set<std::string>& declared);
// A route's `upstream:` value: a declared name, an inline http:// URL or builtin:echo. Inline
// URLs and builtins are entered into `upstreams` under the value as written. Returns the key.
std::optional<std::string> resolve_upstream(const Reader& value,
                                            std::map<std::string, Upstream>& upstreams,
                                            const std::set<std::string>& declared);

// loader_routes.cc
// `pattern_error`: LoadOptions::path_pattern_error (may be empty).
void parse_routes(const Reader& section, const PluginCatalog& catalog,
                  const std::set<std::string>& declared,
                  const std::function<std::string(std::string_view)>& pattern_error,
                  const Config* running,
                  Config& config);

}  // namespace turnpike::config::detail
