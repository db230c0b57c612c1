// headers configuration (see config.h).
#include "plugins/headers/config.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "http/headers.h"
#include "plugins/plugin.h"

namespace turnpike::plugins::headers {
namespace {

// RFC 9110 tchar.
bool is_tchar(unsigned char c) {
  return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool check_value(const config::Reader& at, const std::string& value) {
  bool control = std::any_of(value.begin(), value.end(),
                             [](unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; });
  if (control) at.error("header value must not contain control characters (CR/LF injection)");
  return !control;
}

void read_map(const config::Reader& map, std::vector<std::pair<std::string, std::string>>& out) {
  auto entries = map.entries();
  if (!entries) return;
  for (const auto& [name, at] : *entries) {
    std::optional<std::string> value = at.string();
    if (value && check_header_name(at, name) && check_value(at, *value)) {
      out.emplace_back(name, std::move(*value));
    }
  }
}

Edits read_edits(const config::Reader& block) {
  Edits edits;
  if (!block.expect_map({"set", "add", "remove"})) return edits;
  read_map(block.child("set"), edits.set);
  read_map(block.child("add"), edits.add);
  config::Reader remove = block.child("remove");
  if (auto names = remove.string_list()) {
    for (std::size_t i = 0; i < names->size(); ++i) {
      if (check_header_name(remove.index(i), (*names)[i])) edits.remove.push_back((*names)[i]);
    }
  }
  return edits;
}

bool is_credential(std::string_view name) {
  auto contains = [&](std::string_view part) {
    return std::search(name.begin(), name.end(), part.begin(), part.end(), [](char a, char b) {
             return std::tolower(static_cast<unsigned char>(a)) == b;
           }) != name.end();
  };
  return http::iequals(name, "Authorization") || http::iequals(name, "Proxy-Authorization") ||
         http::iequals(name, "Cookie") || http::iequals(name, "Set-Cookie") || contains("-key") ||
         contains("token") || contains("secret");
}

nlohmann::json edits_json(const Edits& e, bool redact) {
  nlohmann::json set = nlohmann::json::object(), add = nlohmann::json::object();
  auto shown = [&](const auto& field) {
    return redact && is_credential(field.first) ? std::string("***") : field.second;
  };
  for (const auto& field : e.set) set[field.first] = shown(field);
  for (const auto& field : e.add) add[field.first] = shown(field);
  return {{"set", set}, {"add", add}, {"remove", e.remove}};
}

}  // namespace

bool check_header_name(const config::Reader& at, const std::string& name) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), is_tchar)) {
    at.error("invalid header name \"" + name + "\"");
    return false;
  }
  if (const char* why = protected_header(name)) {
    at.error("cannot edit \"" + name + "\": " + why);
    return false;
  }
  return true;
}

bool Config::equals(const config::PluginConfig& other) const {
  auto* o = dynamic_cast<const Config*>(&other);
  return o && o->request == request && o->response == response;
}

nlohmann::json Config::to_json(bool redact) const {
  return {{"request", edits_json(request, redact)}, {"response", edits_json(response, redact)}};
}

std::shared_ptr<const config::PluginConfig> parse(const config::Reader& block) {
  auto out = std::make_shared<Config>();
  if (!block.expect_map({"request", "response"})) return nullptr;
  out->request = read_edits(block.child("request"));
  out->response = read_edits(block.child("response"));
  if (block.has_errors()) return nullptr;
  return out;
}

}  // namespace turnpike::plugins::headers
