// acl (see plugin.h).
#include "plugins/acl/plugin.h"

#include <algorithm>
#include <string>
#include <vector>

#include "plugins/acl/config.h"

namespace turnpike::plugins::acl {
namespace {

bool in_any(const std::vector<std::string>& groups, const std::vector<std::string>& listed) {
  return std::any_of(groups.begin(), groups.end(), [&](const std::string& g) {
    return std::find(listed.begin(), listed.end(), g) != listed.end();
  });
}

class Acl final : public Plugin {
 public:
  explicit Acl(const Config& config) : config_(config) {}

  Verdict on_request(Context& c) const override {
    if (c.consumer.empty()) {
      return Verdict::refuse(http::Error::kForbidden, "no authenticated consumer");
    }
    // A consumer named by a token claim but not configured has no groups.
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& groups = c.consumer_entry ? c.consumer_entry->groups : kNone;
    if (in_any(groups, config_.deny_groups) ||
        (!config_.allow_groups.empty() && !in_any(groups, config_.allow_groups))) {
      return Verdict::refuse(http::Error::kForbidden, "consumer not allowed");
    }
    return Verdict::next();
  }

 private:
  const Config& config_;  // kept alive by the chain link that holds this plugin
};

}  // namespace

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<Acl>(static_cast<const Config&>(config));
}

}  // namespace turnpike::plugins::acl
