// Configuration differences (see diff.h).
#include "config/diff.h"

#include <set>

#include "config/json.h"

namespace turnpike::config {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxValueText = 160;  // a debug line stays one readable line

std::string text_of(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > kMaxValueText) text = text.substr(0, kMaxValueText) + "...";
  return text;
}

// A list whose items all have a "name" (routes, listeners, consumers).
bool named_items(const json& list) {
  if (!list.is_array() || list.empty()) return false;
  for (const json& item : list) {
    if (!item.is_object() || !item.contains("name")) return false;
  }
  return true;
}

const json* find_named(const json& list, const json& name) {
  for (const json& item : list) {
    if (item["name"] == name) return &item;
  }
  return nullptr;
}

void diff(const std::string& path, const json& a, const json& b, std::vector<std::string>& out) {
  if (a == b) return;
  if (a.is_object() && b.is_object()) {
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const std::string& k : keys) {
      std::string sub = path.empty() ? k : path + "." + k;
      if (!a.contains(k)) {
        out.push_back(sub + ": added");
      } else if (!b.contains(k)) {
        out.push_back(sub + ": removed");
      } else {
        diff(sub, a[k], b[k], out);
      }
    }
    return;
  }
  if (named_items(a) && named_items(b)) {
    for (const json& item : a) {
      std::string sub = path + "[" + item["name"].get<std::string>() + "]";
      const json* other = find_named(b, item["name"]);
      if (!other) {
        out.push_back(sub + ": removed");
      } else {
        diff(sub, item, *other, out);
      }
    }
    for (const json& item : b) {
      if (!find_named(a, item["name"])) {
        out.push_back(path + "[" + item["name"].get<std::string>() + "]: added");
      }
    }
    return;
  }
  out.push_back(path + ": " + text_of(a) + " -> " + text_of(b));
}

}  // namespace

std::vector<RestartPending> keep_restart_only(const Config& running, Config& next) {
  std::vector<RestartPending> pending;
  // Names and addresses are bound once; certificates and TLS settings change on a reload.
  auto bindings_differ = [](const std::vector<Listener>& a, const std::vector<Listener>& b) {
    if (a.size() != b.size()) return true;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i].name != b[i].name || a[i].address != b[i].address ||
          a[i].tls.has_value() != b[i].tls.has_value()) {
        return true;
      }
    }
    return false;
  };
  if (bindings_differ(next.server.listeners, running.server.listeners)) {
    pending.push_back(
        {"server.listeners", to_json(running.server.listeners), to_json(next.server.listeners)});
    next.server.listeners = running.server.listeners;
  }
  if (next.server.workers != running.server.workers) {
    pending.push_back({"server.workers", workers_json(running.server.workers),
                       workers_json(next.server.workers)});
    next.server.workers = running.server.workers;
  }
  return pending;
}

std::vector<std::string> describe_changes(const Config& before, const Config& after) {
  std::vector<std::string> out;
  diff("", to_json(before, true), to_json(after, true), out);
  return out;
}

}  // namespace turnpike::config
