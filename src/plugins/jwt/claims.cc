// Claim checks (see claims.h).
#include "plugins/jwt/claims.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace turnpike::plugins::jwt {
namespace {

using Json = nlohmann::json;

Checked refuse(Refusal r, std::string_view message) { return {r, message, 0}; }

// A NumericDate (RFC 7519 §2): a number of seconds, fractions allowed. Absent: nullopt;
// present and not a finite number: false in `ok`.
std::optional<int64_t> numeric_date(const Json& claims, const char* name, bool& ok) {
  auto it = claims.find(name);
  if (it == claims.end()) return std::nullopt;
  if (!it->is_number() || !std::isfinite(it->get<double>()) ||
      std::fabs(it->get<double>()) > 1e15) {
    ok = false;
    return std::nullopt;
  }
  return it->is_number_float() ? static_cast<int64_t>(std::floor(it->get<double>()))
                               : it->get<int64_t>();
}

bool listed(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool audience_ok(const Json& claims, const std::vector<std::string>& audiences) {
  auto aud = claims.find("aud");
  if (aud == claims.end()) return false;
  if (aud->is_string()) return listed(audiences, aud->get<std::string>());
  if (!aud->is_array()) return false;
  return std::any_of(aud->begin(), aud->end(), [&](const Json& a) {
    return a.is_string() && listed(audiences, a.get<std::string>());
  });
}

// The token's scopes: `scope` (space-separated, RFC 8693) or `scp` (a list, or a string).
std::vector<std::string> scopes_of(const Json& claims) {
  std::vector<std::string> out;
  auto add_words = [&](const std::string& text) {
    std::size_t start = 0;
    while (start < text.size()) {
      std::size_t end = text.find(' ', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) out.push_back(text.substr(start, end - start));
      start = end + 1;
    }
  };
  for (const char* name : {"scope", "scp"}) {
    auto it = claims.find(name);
    if (it == claims.end()) continue;
    if (it->is_string()) add_words(it->get<std::string>());
    if (it->is_array()) {
      for (const Json& s : *it) {
        if (s.is_string()) out.push_back(s.get<std::string>());
      }
    }
  }
  return out;
}

// A claim as a header value: strings as they are, anything else as compact JSON. A value with
// control characters is not forwarded (it could split the head).
std::optional<std::string> header_value(const Json& claim) {
  std::string text = claim.is_string() ? claim.get<std::string>() : claim.dump();
  bool control = std::any_of(text.begin(), text.end(), [](unsigned char ch) {
    return (ch < 0x20 && ch != '\t') || ch == 0x7f;
  });
  if (control) return std::nullopt;
  return text;
}

}  // namespace

Checked ClaimChecker::check(std::string_view payload, int64_t now, Accepted& out) const {
  std::optional<Json> parsed = parse_strict_json(payload);
  if (!parsed || !parsed->is_object()) return refuse(Refusal::kInvalid, "malformed claims");
  const Json& claims = *parsed;
  const int64_t leeway = config_.leeway_seconds;
  bool ok = true;
  std::optional<int64_t> exp = numeric_date(claims, "exp", ok);
  std::optional<int64_t> nbf = numeric_date(claims, "nbf", ok);
  std::optional<int64_t> iat = numeric_date(claims, "iat", ok);
  if (!ok) return refuse(Refusal::kInvalid, "malformed time claim");
  if (exp && now >= *exp + leeway) return refuse(Refusal::kInvalid, "token expired");
  if (nbf && now + leeway < *nbf) return refuse(Refusal::kInvalid, "token not yet valid");
  if (iat && now + leeway < *iat) return refuse(Refusal::kInvalid, "token issued in the future");
  if (!config_.issuers.empty()) {
    auto iss = claims.find("iss");
    if (iss == claims.end() || !iss->is_string() ||
        !listed(config_.issuers, iss->get<std::string>())) {
      return refuse(Refusal::kInvalid, "issuer not accepted");
    }
  }
  if (!config_.audiences.empty() && !audience_ok(claims, config_.audiences)) {
    return refuse(Refusal::kInvalid, "audience not accepted");
  }
  if (!config_.consumer_claim.empty()) {
    auto consumer = claims.find(config_.consumer_claim);
    if (consumer == claims.end() || !consumer->is_string() ||
        consumer->get<std::string>().empty()) {
      return refuse(Refusal::kInvalid, "consumer claim missing");
    }
    out.consumer = consumer->get<std::string>();
  }
  if (!config_.required_scopes.empty()) {
    std::vector<std::string> scopes = scopes_of(claims);
    for (const std::string& required : config_.required_scopes) {
      if (!listed(scopes, required)) return refuse(Refusal::kScope, "missing required scope");
    }
  }
  out.forwarded.clear();
  for (const auto& [claim, header] : config_.forward_claims) {
    auto it = claims.find(claim);
    out.forwarded.push_back(it == claims.end() ? std::nullopt : header_value(*it));
  }
  int64_t until = now + kMaxCacheSeconds;
  if (exp) until = std::min(until, *exp + leeway);
  return {Refusal::kNone, {}, until};
}

}  // namespace turnpike::plugins::jwt
