// request_size (see plugin.h).
#include "plugins/request_size/plugin.h"

#include <algorithm>

#include "plugins/request_size/config.h"

namespace turnpike::plugins::request_size {
namespace {

class RequestSize final : public Plugin {
 public:
  explicit RequestSize(uint64_t max) : max_(max) {}

  Verdict on_request(Context& c) const override {
    // Exactly at the limit is accepted.
    if (c.length_known && c.content_length > max_) {
      return Verdict::refuse(http::Error::kPayloadTooLarge, "request body too large");
    }
    c.body_limit = std::min(c.body_limit, max_);  // enforced while the body streams
    return Verdict::next();
  }

 private:
  uint64_t max_;
};

}  // namespace

std::shared_ptr<const Plugin> make(const config::PluginConfig& config) {
  return std::make_shared<RequestSize>(static_cast<const Config&>(config).max_body_bytes);
}

}  // namespace turnpike::plugins::request_size
