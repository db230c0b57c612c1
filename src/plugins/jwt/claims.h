// The claims of a verified JWT, checked against a jwt plugin's configuration: time (exp, nbf,
// iat with leeway), issuer, audience, scopes; and what an accepted token gives the request (the
// claims to forward, the consumer). Pure logic: the caller passes the time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/jwt/config.h"

namespace turnpike::plugins::jwt {

enum class Refusal : uint8_t { kNone, kInvalid, kScope };

struct Checked {
  Refusal refusal = Refusal::kNone;
  std::string_view message;  // a literal, for the answer's body
  int64_t good_until = 0;    // accepted: until when (unix seconds) the verdict may be reused
};

struct Accepted {
  std::vector<std::optional<std::string>> forwarded;  // per forward_claims entry; nullopt: absent
  std::string consumer;
};

class ClaimChecker {
 public:
  explicit ClaimChecker(const Config& config) : config_(config) {}
  // `payload` is the token's decoded payload; `now` unix seconds.
  Checked check(std::string_view payload, int64_t now, Accepted& out) const;

 private:
  const Config& config_;
};

// A token without `exp` is reused from the cache for at most this long.
inline constexpr int64_t kMaxCacheSeconds = 300;

}  // namespace turnpike::plugins::jwt
