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

namespace turnpike::config {
namespace {

// The line `line` (0-based) of `text`, without its end.
std::string_view line_of(std::string_view text, int line) {
  size_t start = 0;
  for (int i = 0; i < line && start != std::string_view::npos; ++i) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos || start > text.size()) return {};
  return text.substr(start, text.find('\n', start) - start);
}

// `keys: [${KEY}]` reads naturally but is not YAML: inside [...] or {...} a '{' opens a map.
// yaml-cpp then reports a missing end of flow; say what to do instead.
std::string yaml_error_hint(std::string_view text, const YAML::Mark& mark) {
  if (mark.is_null()) return "";
  std::string_view line = line_of(text, mark.line);
  size_t reference = line.find("${");
  if (reference == std::string_view::npos || line.find_first_of("[{") >= reference) return "";
  return " (inside [...] or {...}, quote a ${NAME} value: \"${NAME}\")";
}

void parse_consumers(const Reader& section, std::vector<Consumer>& out) {
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
      for (size_t i = 0; i < list->size(); ++i) {
        // The key itself is a secret: the error names where the other copy is, not the value.
        Reader key = keys.index(i);
        auto [it, fresh] = key_owner.emplace((*list)[i], key.path());
        if (!fresh) key.error("key already used by " + it->second);
      }
      consumer.keys = std::move(*list);
    }
    if (auto groups = item.child("groups").string_list()) consumer.groups = std::move(*groups);
    out.push_back(std::move(consumer));
  }
}

void parse_document(const Reader& root, const LoadOptions& options, Config& config) {
  if (!root.expect_map({"server", "admin", "logging", "tracing", "config_source", "upstreams",
                        "consumers", "plugins", "routes"})) {
    return;
  }
  static const PluginCatalog kNoPlugins;
  const PluginCatalog& catalog = options.plugins ? *options.plugins : kNoPlugins;

  detail::parse_server(root.child("server"), config.server);
  detail::parse_admin(root.child("admin"), config.server, config.admin);
  detail::parse_logging(root.child("logging"), config.logging);
  detail::parse_tracing(root.child("tracing"), config.tracing);
  root.child("config_source").not_supported();
  std::set<std::string> declared;
  detail::parse_upstreams(root.child("upstreams"), config.upstreams, declared);
  parse_consumers(root.child("consumers"), config.consumers);
  config.plugins = catalog.parse(root.child("plugins"));
  detail::parse_routes(root.child("routes"), catalog, declared, config);
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

}  // namespace detail

LoadResult load_string(std::string_view text, const LoadOptions& options) {
  LoadResult result;
  YAML::Node node;
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(text));
    if (documents.size() > 1) {
      result.errors.push_back(
          {"config", "expected one YAML document, found " + std::to_string(documents.size())});
      return result;
    }
    if (!documents.empty()) node = documents.front();
  } catch (const YAML::Exception& e) {
    std::string where = e.mark.is_null() ? std::string()
                                         : " at line " + std::to_string(e.mark.line + 1) +
                                               ", column " + std::to_string(e.mark.column + 1);
    result.errors.push_back(
        {"config", "invalid YAML" + where + ": " + e.msg + yaml_error_hint(text, e.mark)});
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
  return load_string(text, options);
}

std::string format_errors(const std::vector<ConfigError>& errors) {
  std::string out;
  for (const ConfigError& e : errors) out += e.path + ": " + e.message + "\n";
  return out;
}

}  // namespace turnpike::config
