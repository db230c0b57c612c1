// Upstream groups and smooth weighted round robin (see group.h).
#include "upstream/group.h"

#include "observe/metrics.h"



namespace turnpike::upstream {

RoundRobin::RoundRobin(std::vector<uint32_t> weights)
    : weights_(std::move(weights)), current_(weights_.size(), 0) {
  for (uint32_t w : weights_) total_ += w;
}

std::size_t RoundRobin::pick() {
  if (weights_.size() == 1) return 0;
  std::size_t best = 0;
  for (std::size_t i = 0; i < weights_.size(); ++i) {
    current_[i] += weights_[i];
    if (current_[i] > current_[best]) best = i;
  }
  current_[best] -= total_;
  return best;
}

std::shared_ptr<Group> Group::build(const config::Upstream& spec, int workers,
                                    std::vector<config::ConfigError>& errors,
                                    const std::string& path) {
  auto group = std::shared_ptr<Group>(new Group());
  group->spec_ = spec;
  group->metrics_id_ = observe::upstream_ids().id(spec.name);
  bool ok = true;
  std::vector<uint32_t> weights;
  for (std::size_t i = 0; i < spec.targets.size(); ++i) {
    const config::Target& t = spec.targets[i];
    Target target;
    target.address = t.address.to_string();
    target.weight = t.weight;
    std::string error = net::resolve(t.address.host, t.address.port, target.endpoint);
    if (!error.empty()) {
      errors.push_back({path + ".targets[" + std::to_string(i) + "].address", error});
      ok = false;
      continue;
    }
    target.pool_id = observe::target_ids().id(spec.name + '\n' + target.address);
    target.state = &target_states().at(target.pool_id);
    weights.push_back(t.weight);
    group->targets_.push_back(std::move(target));
  }
  if (!ok) return nullptr;
  for (int w = 0; w < workers; ++w) group->workers_.push_back(std::make_unique<PerWorker>(weights));
  return group;
}

void Lease::succeeded() const {
  // Read first: the common case (no failures) writes nothing to the shared line.
  if (target_->state->consecutive_failures.load(std::memory_order_relaxed) != 0) {
    target_->state->consecutive_failures.store(0, std::memory_order_relaxed);
  }
}

void Lease::failed() const {
  target_->state->consecutive_failures.fetch_add(1, std::memory_order_relaxed);
}

Lease Group::pick(int worker, const Tried& tried) {
  RoundRobin& balancer = workers_[worker]->balancer;
  // The balancer's choice, unless it is unusable or already tried: then the balancer's next
  // ones, so the weights still hold among the rest; then any untried usable target the balancer
  // did not reach (heavy weights); and last a usable tried one (a retry on it beats none).
  for (std::size_t n = 0; n < targets_.size() + 1; ++n) {
    std::size_t i = balancer.pick();
    if (targets_[i].state->usable() && !tried.contains(i)) return Lease(&targets_[i]);
  }
  const Target* fallback = nullptr;
  for (const Target& t : targets_) {
    if (!t.state->usable()) continue;
    if (!tried.contains(index_of(t))) return Lease(&t);
    if (!fallback) fallback = &t;
  }
  return fallback ? Lease(fallback) : Lease();
}

}  // namespace turnpike::upstream
