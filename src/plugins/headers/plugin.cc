// headers (see plugin.h). Values point into the configuration, which the chain link keeps alive
// for as long as this plugin.
#include "plugins/headers/plugin.h"

#include "plugins/headers/config.h"

namespace turnpike::plugins::headers {
namespace {

// In the order a reader expects: what is removed goes, what is set replaces, what is added joins.
void apply(const Edits& edits, HeaderEdits& out) {
  for (const std::string& name : edits.remove) out.remove(name);
  for (const auto& [name, value] : edits.set) out.set(name, value);
  for (const auto& [name, value] : edits.add) out.add(name, value);
}

class Headers final : public Plugin {
 public:
  explicit Headers(const Config& config) : config_(config) {}
  Verdict on_request(Context& c) const override {
    apply(config_.request, c.request_headers);
    return Verdict::next();
  }
  void on_response(Context& c) const override { apply(config_.response, c.response_headers); }

 private:
  const Config& config_;
};

}  // namespace

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<Headers>(static_cast<const Config&>(config));
}

}  // namespace turnpike::plugins::headers
