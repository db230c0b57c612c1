// Snapshot compilation and publication (see snapshot.h).
#include "proxy/snapshot.h"

#include <string_view>
#include <unordered_map>

#include "observe/metrics.h"

namespace turnpike::proxy {
namespace {

// The chains routes had in the previous snapshot, by route name: a plugin whose configuration
// is unchanged carries its object (and state) into the new snapshot.
std::unordered_map<std::string_view, const plugins::Chain*> previous_chains(
    const Snapshot* previous) {
  std::unordered_map<std::string_view, const plugins::Chain*> out;
  if (!previous) return out;
  for (const RouteRuntime& r : previous->routes) {
    if (!r.plugins.links.empty()) out.emplace(r.spec->name, &r.plugins);
  }
  return out;
}

// Each TLS listener's certificates, loaded now: a file that cannot be used is an error like any
// other, and the running configuration stays.
void build_tls(const config::Config& config, Snapshot& snapshot,
               std::vector<config::ConfigError>& errors) {
  for (std::size_t i = 0; i < config.server.listeners.size(); ++i) {
    const config::Listener& listener = config.server.listeners[i];
    if (!listener.tls) continue;
    net::TlsServerSettings settings;
    for (const config::TlsCertificate& c : listener.tls->certificates) {
      settings.certificates.push_back({c.cert, c.key});
    }
    settings.min_version = listener.tls->min_version;
    settings.alpn = listener.tls->alpn;
    std::string error;
    std::size_t failed = 0;
    if (auto server = net::TlsServer::load(settings, error, failed)) {
      snapshot.tls.emplace(listener.name, std::move(server));
    } else {
      errors.push_back({"server.listeners[" + std::to_string(i) + "].tls.certificates[" +
                            std::to_string(failed) + "]",
                        error});
    }
  }
}

}  // namespace

std::shared_ptr<const Snapshot> build_snapshot(std::shared_ptr<const config::Config> config,
                                               int workers, uint64_t generation,
                                               const Snapshot* previous,
                                               std::vector<config::ConfigError>& errors) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->generation = generation;
  snapshot->config = config;
  std::size_t errors_before = errors.size();

  for (const auto& [name, spec] : config->upstreams) {
    if (spec.kind == config::UpstreamKind::kBuiltinEcho) continue;
    if (previous) {
      auto it = previous->groups.find(name);
      if (it != previous->groups.end() && it->second->spec() == spec) {
        snapshot->groups.emplace(name, it->second);
        continue;
      }
    }
    std::string path = spec.inline_url ? "upstreams[\"" + name + "\"]" : "upstreams." + name;
    if (auto group = upstream::Group::build(spec, workers, errors, path)) {
      snapshot->groups.emplace(name, std::move(group));
    }
  }

  snapshot->router = routing::Router::build(config->routes, errors);
  build_tls(*config, *snapshot, errors);
  snapshot->consumers = plugins::Consumers(config->consumers);

  auto chains = previous_chains(previous);
  snapshot->routes.resize(config->routes.size());
  for (std::size_t i = 0; i < config->routes.size(); ++i) {
    const config::Route& route = config->routes[i];
    RouteRuntime& runtime = snapshot->routes[i];
    runtime.spec = &route;
    runtime.metrics_id = observe::route_ids().id(route.name);
    auto chain = chains.find(route.name);
    runtime.plugins = plugins::build_chain(*config, route,
                                           chain == chains.end() ? nullptr : chain->second);
    auto upstream = config->upstreams.find(route.upstream);
    if (upstream != config->upstreams.end() &&
        upstream->second.kind == config::UpstreamKind::kBuiltinEcho) {
      runtime.echo = true;
      continue;
    }
    auto group = snapshot->groups.find(route.upstream);
    if (group != snapshot->groups.end()) runtime.group = group->second.get();
  }
  if (errors.size() != errors_before || !snapshot->router) return nullptr;
  return snapshot;
}

void SnapshotCell::publish(std::shared_ptr<const Snapshot> snapshot) {
  {
    std::lock_guard lock(mutex_);
    current_ = std::move(snapshot);
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const Snapshot> SnapshotCell::load() const {
  std::lock_guard lock(mutex_);
  return current_;
}

LocalSnapshot::~LocalSnapshot() {
  if (current_) {
    if (current_->pins == 0) {
      delete current_;
    } else {
      current_->retired = true;  // the last pin frees it
    }
  }
}

LocalSnapshot::Pin LocalSnapshot::pin() {
  uint64_t version = cell_.version();
  if (!current_ || current_->version != version) {
    auto* fresh = new Held();
    fresh->retire = &retire_;
    fresh->snapshot = cell_.load();
    fresh->version = version;
    if (current_) {
      if (current_->pins == 0) {
        delete current_;
      } else {
        current_->retired = true;
      }
    }
    current_ = fresh;
  }
  return Pin(current_);
}

}  // namespace turnpike::proxy
