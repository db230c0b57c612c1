// The router: routes compiled once per configuration into a host index, per-host path trees and
// one RE2 set for regex routes. A lookup costs the same for 10 or 100,000 routes (SPEC §2.1).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/model.h"

namespace turnpike::routing {

// Gives the router the request's header values. `lower_name` is lower-case; the implementation
// compares names case-insensitively. Returns nullopt when the header is absent.
class HeaderSource {
 public:
  virtual ~HeaderSource() = default;
  virtual std::optional<std::string_view> get(std::string_view lower_name) const = 0;
};

struct RouteRequest {
  std::string_view method;  // as sent, e.g. "GET"
  std::string_view host;    // Host header value as sent (port and case are handled here)
  std::string_view path;    // already normalized (routing/path.h), no query
  const HeaderSource* headers = nullptr;  // may be null: no headers
};

struct RouteMatch {
  // 200: `route` is the index into the config's routes; 404: nothing matched; 405: something
  // matched all but the method, `allow` lists the allowed methods ("GET, POST").
  uint16_t status = 404;
  int route = -1;
  std::string allow;
  // Bytes at the front of the path that strip_prefix removes (the part before a trailing `**`);
  // 0 when the route does not strip or matched without `**`.
  size_t strip_length = 0;
};

struct Candidate {
  std::string route;   // route name
  std::string reason;  // why it lost, or "selected: ..." for the winner
};

struct Explanation {
  RouteMatch match;
  std::vector<Candidate> candidates;  // every route, the winner first
};

class Router {
 public:
  // Compiles the routes. Errors name their path, e.g. {"routes[3].paths[0]", "`**` must be the
  // last segment"}, and two routes with identical conditions are an error. Errors are appended
  // to `errors`; when any is added the result is null (a configuration is taken whole or not).
  static std::unique_ptr<Router> build(const std::vector<config::Route>& routes,
                                       std::vector<config::ConfigError>& errors);
  ~Router();

  // The hot path: no allocation unless the answer is 405.
  RouteMatch match(const RouteRequest& request) const;

  // The admin API's /routes/explain: the same decision as match(), with every route's reason.
  Explanation explain(const RouteRequest& request) const;

 private:
  struct Impl;
  explicit Router(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace turnpike::routing
