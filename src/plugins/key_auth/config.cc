// key_auth configuration (see config.h).
#include "plugins/key_auth/config.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>

namespace turnpike::plugins::key_auth {
namespace {

constexpr std::string_view kHeaderPrefix = "header:";
constexpr std::string_view kQueryPrefix = "query:";

// An RFC 9110 token (a header name), or a query parameter name that needs no escaping.
bool valid_name(std::string_view name) {
  constexpr std::string_view kSymbols = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](unsigned char c) {
    return std::isalnum(c) || kSymbols.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

std::optional<Source> read_source(const config::Reader& at, std::string_view text) {
  Source out;
  std::string_view name;
  if (text.starts_with(kHeaderPrefix)) {
    out.kind = Source::Kind::kHeader;
    name = text.substr(kHeaderPrefix.size());
  } else if (text.starts_with(kQueryPrefix)) {
    out.kind = Source::Kind::kQuery;
    name = text.substr(kQueryPrefix.size());
  } else {
    at.error("invalid source \"" + std::string(text) + "\" (allowed: header:NAME, query:NAME)");
    return std::nullopt;
  }
  // '%', '+', '&' and '=' would need escaping in a query; a header name has none of them either.
  if (!valid_name(name) || name.find_first_of("%+&=") != std::string_view::npos) {
    at.error("invalid name \"" + std::string(name) + "\" in source \"" + std::string(text) + "\"");
    return std::nullopt;
  }
  out.name = name;
  return out;
}

}  // namespace

std::string Source::text() const {
  return std::string(kind == Kind::kHeader ? kHeaderPrefix : kQueryPrefix) + name;
}

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->sources == sources;
}

nlohmann::json Config::to_json(bool) const {
  nlohmann::json list = nlohmann::json::array();
  for (const Source& s : sources) list.push_back(s.text());
  return {{"sources", list}};
}

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map({"sources"})) return nullptr;
  config::Reader sources = block.child("sources");
  if (auto list = sources.string_list()) {
    if (list->empty()) sources.error("must list at least one source");
    out->sources.clear();
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (auto source = read_source(sources.index(i), (*list)[i])) {
        if (std::find(out->sources.begin(), out->sources.end(), *source) != out->sources.end()) {
          sources.index(i).error("duplicate source \"" + (*list)[i] + "\"");
        }
        out->sources.push_back(std::move(*source));
      }
    }
  }
  if (block.has_errors()) return nullptr;
  return out;
}

}  // namespace turnpike::plugins::key_auth
