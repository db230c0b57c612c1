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
    weights.push_back(t.weight);
    group->targets_.push_back(std::move(target));
  }
  if (!ok) return nullptr;
  for (int w = 0; w < workers; ++w) group->workers_.push_back(std::make_unique<PerWorker>(weights));
  return group;
}

const Target& Group::pick(int worker) { return targets_[workers_[worker]->balancer.pick()]; }


}  // namespace turnpike::upstream
