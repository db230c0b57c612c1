// ip_restriction (see plugin.h). The client address is the one the gateway believes
// (`trusted_proxies` applied), in 16 bytes as config::Cidr stores addresses.
#include "plugins/ip_restriction/plugin.h"

#include "config/values.h"
#include "plugins/ip_restriction/config.h"

namespace turnpike::plugins::ip_restriction {
namespace {

bool any_contains(const std::vector<config::Cidr>& list, const config::IpAddress& ip, bool v4) {
  for (const config::Cidr& cidr : list) {
    // IPv4 addresses live in ::ffff:0:0/96, which a wide IPv6 prefix such as ::/0 also spans:
    // an IPv4 client matches only the CIDRs inside that block (those written for IPv4), so that
    // `deny: ["::/0"]` refuses IPv6 clients and not every client.
    if (v4 && cidr.prefix_bits < 96) continue;
    if (cidr.contains(ip)) return true;
  }
  return false;
}

class IpRestriction final : public Plugin {
 public:
  explicit IpRestriction(const Config& config) : config_(config) {}

  Verdict on_request(Context& c) const override {
    config::IpAddress ip = c.client_address;
    if (!c.client_address_known) {
      // Only the text is given (a context built without the address): read it the same way.
      // An address the gateway cannot read is not one it can vouch for.
      config::Parsed<config::IpAddress> parsed = config::parse_ip(c.client_ip);
      if (!parsed) return refusal();
      ip = *parsed.value;
    }
    bool v4 = config::is_ipv4_mapped(ip);
    if (any_contains(config_.deny, ip, v4)) return refusal();
    if (!config_.allow.empty() && !any_contains(config_.allow, ip, v4)) return refusal();
    return Verdict::next();
  }

 private:
  static Verdict refusal() {
    return Verdict::refuse(http::Error::kForbidden, "IP address not allowed");
  }

  const Config& config_;  // kept alive by the chain link that holds this plugin
};

}  // namespace

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<IpRestriction>(static_cast<const Config&>(config));
}

}  // namespace turnpike::plugins::ip_restriction
