// The configuration as JSON, for the admin API (GET /config) and for its fingerprint: the
// SHA-256 of the canonical form, equal on every instance that runs the same configuration.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "config/model.h"

namespace turnpike::config {

// Every setting, defaults included. With `redact`, secrets (the admin token, consumer keys,
// plugin secrets) are "***".
nlohmann::json to_json(const Config& config, bool redact);

// The listeners as GET /config shows them: [{"name", "address"}].
nlohmann::json to_json(const std::vector<Listener>& listeners);

// server.workers as written: "auto" (0) or the number.
nlohmann::json workers_json(int workers);

// Hex SHA-256 of the canonical (unredacted, key-sorted, compact) JSON form.
std::string canonical_hash(const Config& config);

// CIDRs as the YAML writes them: "10.0.0.0/8", "2001:db8::/32".
std::string format_cidr(const Cidr& cidr);

// Durations as the YAML writes them: "250ms", "5s", "1m30s".
std::string format_duration(Duration d);

}  // namespace turnpike::config
