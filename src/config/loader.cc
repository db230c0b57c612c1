// The top of the loader: YAML text -> Config, section by section (the sections live in
// loader_server.cc, loader_upstreams.cc and loader_routes.cc), with all errors at once.
#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <set>

#include "config/loader_internal.h"
#include "config/plugin_catalog.h"
#include "config/reader.h"
#include "config/yaml_errors.h"

namespace turnpike::config {
namespace {

// `keys: [${KEY}]` reads naturally but is not YAML: inside [...] or {...} a '{' opens a map.
// yaml-cpp then reports a missing end of flow; say what to do instead.
std::string yaml_error_hint(std::string_view text, int line) {
  std::size_t start = 0;
  for (int i = 0; i < line && start < text.size(); ++i) {
    std::size_t end = text.find('\n', start);
    start = end == std::string_view::npos ? text.size() : end + 1;
  }
  std::string_view rest = text.substr(start);
  std::string_view line_text = rest.substr(0, rest.find('\n'));
  size_t reference = line_text.find("${");
  if (reference == std::string_view::npos || line_text.find_first_of("[{") >= reference) return "";
  return " (inside [...] or {...}, quote a ${NAME} value: \"${NAME}\")";
}

ConfigError syntax_error(const std::string& source, const SyntaxProblem& p, std::string hint) {
  return {source + ":" + std::to_string(p.line) + ":" + std::to_string(p.column),
          p.message + hint};
}

// The running consumer of this name, whose keys a "***" keeps (null when none).
const Consumer* running_consumer(const Config* running, const std::string& name) {
  if (!running) return nullptr;
  for (const Consumer& c : running->consumers) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

void parse_consumers(const Reader& section, const Config* running, std::vector<Consumer>& out) {
  if (section.is_null()) return;  // `consumers:` with nothing under it
  auto items = section.items();
  if (!items) return;
  std::map<std::string, std::string> name_owner;  // name -> path of the consumer using it
  std::map<std::string, std::string> key_owner;   // key -> path of the list entry holding it
  for (const Reader& item : *items) {
    if (!item.expect_map({"name", "keys", "groups"})) continue;
    Consumer consumer;
    consumer.name = detail::read_unique_name(item, "consumer", std::nullopt, name_owner);
    Reader keys = item.child("keys");
    if (auto list = keys.string_list()) {
      const Consumer* before = running_consumer(running, consumer.name);
      for (size_t i = 0; i < list->size(); ++i) {
        // The key itself is a secret: the error names where the other copy is, not the value.
        Reader key = keys.index(i);
        if ((*list)[i] == kRedacted) {
          const std::string* kept = before && i < before->keys.size() ? &before->keys[i] : nullptr;
          auto value = detail::keep_redacted(key, (*list)[i], kept);
          if (!value) continue;
          (*list)[i] = std::move(*value);
        }
        auto [it, fresh] = key_owner.emplace((*list)[i], key.path());
        if (!fresh) key.error("key already used by " + it->second);
      }
      consumer.keys = std::move(*list);
    }
    if (auto groups = item.child("groups").string_list()) consumer.groups = std::move(*groups);
    out.push_back(std::move(consumer));
  }
}

// A Kong declarative file or a Tyk API definition given as a turnpike configuration: say so,
// instead of one "unknown key" per section.
bool foreign_format(const Reader& root) {
  if (!root.is_map()) return false;
  auto has = [&](std::string_view key) { return root.child(key).present(); };
  if (has("_format_version") || has("_transform") ||
      (has("services") && !has("routes") && !has("upstreams"))) {
    root.error(
        "this looks like a Kong declarative configuration (kong.yml: _format_version, "
        "services), not a turnpike one; turnpike's format is described in docs/configuration.md "
        "(Kong's services become upstreams, its routes become routes)");
    return true;
  }
  if (has("api_id") || has("proxy") || has("version_data") || has("use_keyless")) {
    root.error(
        "this looks like a Tyk API definition (api_id, proxy.listen_path, version_data), not a "
        "turnpike configuration; turnpike's format is described in docs/configuration.md (Tyk's "
        "proxy.target_url becomes a route's upstream, listen_path its path)");
    return true;
  }
  return false;
}

void parse_document(const Reader& root, const LoadOptions& options, Config& config) {
  if (foreign_format(root)) return;
  if (!root.expect_map({"server", "admin", "logging", "tracing", "config_source", "upstreams",
                        "consumers", "plugins", "routes"})) {
    return;
  }
  static const PluginCatalog kNoPlugins;
  const PluginCatalog& catalog = options.plugins ? *options.plugins : kNoPlugins;

  detail::parse_server(root.child("server"), config.server);
  detail::parse_admin(root.child("admin"), config.server, options.running, config.admin);
  detail::parse_logging(root.child("logging"), config.logging);
  detail::parse_tracing(root.child("tracing"), config.tracing);
  root.child("config_source").not_supported();
  std::set<std::string> declared;
  detail::parse_upstreams(root.child("upstreams"), config.upstreams, declared);
  parse_consumers(root.child("consumers"), options.running, config.consumers);
  config.plugins =
      catalog.parse(root.child("plugins"), options.running ? &options.running->plugins : nullptr);
  detail::parse_routes(root.child("routes"), catalog, declared, options.path_pattern_error,
                       options.running, config);
}

}  // namespace

namespace detail {

std::string read_unique_name(const Reader& item, std::string_view what,
                             std::optional<std::string> fallback,
                             std::map<std::string, std::string>& seen) {
  Reader name = fallback ? item.child("name") : item.required("name");
  std::optional<std::string> text = name.non_empty_string();
  if (!text) text = std::move(fallback);
  if (!text) return "";
  auto [first, fresh] = seen.emplace(*text, item.path());
  if (!fresh) {
    name.error("duplicate " + std::string(what) + " name \"" + *text + "\" (also " + first->second +
               ")");
  }
  return *text;
}

std::optional<std::string> keep_redacted(const Reader& value, const std::string& text,
                                         const std::string* running_value) {
  if (running_value && !running_value->empty()) return *running_value;
  value.error("\"" + text +
              "\" stands for a secret of the running configuration, and there is none to keep "
              "here: write the secret itself");
  return std::nullopt;
}

}  // namespace detail

LoadResult load_string(std::string_view text, const LoadOptions& options) {
  LoadResult result;
  YAML::Node node;
  try {
    // Counted first (YAML::LoadAll can loop forever: see count_documents); about a third of
    // the time of loading the nodes.
    DocumentCount count = count_documents(text);
    if (count.stuck) {
      result.errors.push_back(syntax_error(options.source, *count.stuck, ""));
      return result;
    }
    if (count.documents > 1) {
      result.errors.push_back(
          {"config", "expected one YAML document, found " + std::to_string(count.documents)});
      return result;
    }
    if (count.documents == 1) node = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 0 : e.mark.line;
    int column = e.mark.is_null() ? 0 : e.mark.column;
    SyntaxProblem problem = describe_yaml_error(text, e.msg, line, column);
    result.errors.push_back(syntax_error(options.source, problem, yaml_error_hint(text, line)));
    return result;
  }
  // yaml-cpp reads a quote left open to the end of the file as one long string.
  if (auto unclosed = find_unclosed(text)) {
    result.errors.push_back(syntax_error(options.source, *unclosed, ""));
    return result;
  }

  Config config;
  try {
    Reader root = Reader::root(node, result.errors, options.env);
    parse_document(root, options, config);
    root.sort_errors_in_document_order();
  } catch (const std::exception& e) {
    // A bug, not a user error; still never let it escape into a reload.
    result.errors.push_back({"config", std::string("internal error: ") + e.what()});
  }
  if (result.errors.empty()) result.config = std::move(config);
  return result;
}

LoadResult load_file(const std::string& file, const LoadOptions& options) {
  auto cannot_read = [&](int error) {
    LoadResult result;
    result.errors.push_back({"config", "cannot read " + file + ": " + std::strerror(error)});
    return result;
  };
  std::FILE* f = std::fopen(file.c_str(), "rb");
  if (f == nullptr) return cannot_read(errno);
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  // A directory opens fine and fails on the first read (EISDIR).
  int error = std::ferror(f) ? (errno != 0 ? errno : EIO) : 0;
  std::fclose(f);
  if (error != 0) return cannot_read(error);
  LoadOptions named = options;
  named.source = file;
  return load_string(text, named);
}

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) out += e.path + ": " + e.message + "\n";
  return out;
}

}  // namespace turnpike::config
