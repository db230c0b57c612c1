// The router against a brute-force reference of SPEC §2.1 (every route evaluated on its own and
// ranked by the rules), on many random small configurations: the tree, its backtracking and the
// host buckets must give the same answer as the rules read literally.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <algorithm>
#include <initializer_list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>

#include "routing/host.h"
#include "routing/pattern.h"
#include "routing/router.h"

namespace turnpike::routing {
namespace {

class MapHeaders : public HeaderSource {
 public:
  std::map<std::string, std::string> values;
  std::optional<std::string_view> get(std::string_view name) const override {
    const auto it = values.find(std::string(name));
    return it == values.end() ? std::nullopt : std::optional<std::string_view>(it->second);
  }
};

// SPEC §2.1 read literally, one route at a time.
RouteMatch reference_match(const std::vector<config::Route>& routes, const RouteRequest& request) {
  char buffer[kMaxHostLength];
  std::string_view host;
  const bool host_ok = canonical_host(request.host, buffer, host);
  using Key = std::tuple<int, std::vector<StepRank>, int, bool,
                         std::vector<std::pair<std::string, std::string>>, std::vector<std::string>,
                         std::string>;
  std::optional<Key> best;
  RouteMatch result;
  std::set<std::string> allow;
  auto headers_hold = [&](const config::Route& route) {
    return std::all_of(route.headers.begin(), route.headers.end(), [&](const auto& condition) {
      const auto value = request.headers->get(condition.first);
      return value && *value == condition.second;
    });
  };
  auto method_ok = [&](const config::Route& route) {
    return route.methods.empty() || std::find(route.methods.begin(), route.methods.end(),
                                              request.method) != route.methods.end();
  };
  std::vector<int> host_ranks(routes.size(), kHostRankNoMatch);
  for (size_t i = 0; i < routes.size(); ++i) {
    const config::Route& route = routes[i];
    int rank = route.hosts.empty() ? kHostRankAny : kHostRankNoMatch;
    for (const std::string& text : route.hosts) {
      HostEntry entry;
      EXPECT_EQ(parse_host_entry(text, entry), "");
      if (host_ok) rank = std::min(rank, host_rank(entry, host));
    }
    host_ranks[i] = rank;
    if (rank == kHostRankNoMatch || !headers_hold(route)) continue;
    std::vector<std::string> paths = route.paths;
    if (paths.empty() && !route.regex) paths.push_back("/**");
    std::optional<PatternMatch> path_best;
    for (const std::string& text : paths) {
      Pattern pattern;
      std::string error;
      EXPECT_TRUE(parse_pattern(text, pattern, error));
      PatternMatch m;
      if (match_pattern(pattern, request.path, m) && (!path_best || m.ranks < path_best->ranks)) {
        path_best = m;
      }
    }
    const bool regex_ok = route.regex && RE2::PartialMatch(request.path, RE2(*route.regex));
    if (!method_ok(route)) {
      if (path_best || regex_ok) allow.insert(route.methods.begin(), route.methods.end());
      continue;
    }
    if (!path_best) continue;
    auto headers = route.headers;
    std::sort(headers.begin(), headers.end());
    auto methods = route.methods;
    std::sort(methods.begin(), methods.end());
    Key key{rank,    path_best->ranks, -static_cast<int>(headers.size()), methods.empty(), headers,
            methods, route.name};
    if (!best || key < *best) {
      best = key;
      result.status = 200;
      result.route = static_cast<int>(i);
      result.strip_length = route.strip_prefix && path_best->ranks.back() == StepRank::kRest
                                ? path_best->prefix_length
                                : 0;
    }
  }
  if (best) return result;
  for (size_t i = 0; i < routes.size(); ++i) {  // regex routes, file order
    const config::Route& route = routes[i];
    if (route.regex && host_ranks[i] != kHostRankNoMatch && headers_hold(route) &&
        method_ok(route) && RE2::PartialMatch(request.path, RE2(*route.regex))) {
      result.status = 200;
      result.route = static_cast<int>(i);
      return result;
    }
  }
  if (!allow.empty()) {
    result.status = 405;
    for (const std::string& method : allow) {
      result.allow += (result.allow.empty() ? "" : ", ") + method;
    }
  }
  return result;
}

std::string pick(std::mt19937& rng, std::initializer_list<const char*> items) {
  return items.begin()[std::uniform_int_distribution<size_t>(0, items.size() - 1)(rng)];
}
bool chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

std::string random_pattern(std::mt19937& rng) {
  std::string out;
  const int segments = std::uniform_int_distribution<int>(1, 3)(rng);
  for (int i = 0; i < segments; ++i) {
    out += '/';
    if (i + 1 == segments && chance(rng, 0.25)) return out + "**";
    const int kind = std::uniform_int_distribution<int>(0, 5)(rng);
    out += kind == 0 ? "{p" + std::to_string(i) + "}" : kind == 1 ? "*" : pick(rng, {"a", "b"});
  }
  return chance(rng, 0.1) ? out + "/" : out;
}

config::Route random_route(std::mt19937& rng, int index) {
  config::Route route;
  route.name = "r" + std::to_string(index);
  if (chance(rng, 0.5)) {
    route.hosts.push_back(pick(rng, {"x.com", "*.x.com", "a.x.com", "*.a.x.com"}));
    if (chance(rng, 0.3)) route.hosts.push_back(pick(rng, {"x.com", "*.x.com", "b.x.com"}));
  }
  if (chance(rng, 0.5)) route.methods.push_back(pick(rng, {"GET", "POST"}));
  if (chance(rng, 0.2)) route.methods.push_back("PATCH");
  const int headers = std::uniform_int_distribution<int>(0, 4)(rng);
  if (headers == 1 || headers == 2) route.headers.push_back({"h1", "1"});
  if (headers == 2) route.headers.push_back({"h2", "1"});
  if (headers == 3) route.headers.push_back({"h2", "2"});
  if (chance(rng, 0.15)) route.regex = pick(rng, {"^/a", "b$", "^/(a|c)/", "^/c/[ab]"});
  if (!route.regex || chance(rng, 0.5)) {
    route.paths.push_back(random_pattern(rng));
    if (chance(rng, 0.2)) route.paths.push_back(random_pattern(rng));
  }
  route.strip_prefix = chance(rng, 0.5);
  return route;
}

TEST(RouterReference, RandomConfigurations) {
  std::mt19937 rng(20240601);
  int compared = 0;
  for (int config = 0; config < 400; ++config) {
    std::vector<config::Route> routes;
    const int count = std::uniform_int_distribution<int>(1, 14)(rng);
    for (int i = 0; i < count; ++i) {
      routes.push_back(random_route(rng, i));
      std::vector<config::ConfigError> errors;
      if (!Router::build(routes, errors)) routes.pop_back();  // a duplicate: try another
    }
    std::vector<config::ConfigError> errors;
    const auto router = Router::build(routes, errors);
    ASSERT_TRUE(router);
    for (int r = 0; r < 60; ++r) {
      std::string path;
      const int segments = std::uniform_int_distribution<int>(0, 4)(rng);
      for (int i = 0; i < segments; ++i) path += "/" + pick(rng, {"a", "b", "c"});
      if (path.empty() || chance(rng, 0.15)) path += "/";
      const std::string host = pick(rng, {"x.com", "a.x.com", "B.A.X.com:80", "c.x.com", ""});
      const std::string method = pick(rng, {"GET", "POST", "PUT"});
      MapHeaders headers;
      if (chance(rng, 0.5)) headers.values["h1"] = "1";
      if (chance(rng, 0.5)) headers.values["h2"] = pick(rng, {"1", "2"});
      const RouteRequest request{method, host, path, &headers};
      const RouteMatch want = reference_match(routes, request);
      const RouteMatch got = router->match(request);
      std::string config_text;
      for (const auto& route : routes) {
        config_text += "\n  " + route.name + ": hosts=" + std::to_string(route.hosts.size()) +
                       (route.hosts.empty() ? "" : "(" + route.hosts[0] + ")") +
                       " paths=" + (route.paths.empty() ? "-" : route.paths[0]) +
                       (route.paths.size() > 1 ? "," + route.paths[1] : "") +
                       " regex=" + route.regex.value_or("-") +
                       " methods=" + std::to_string(route.methods.size()) +
                       " headers=" + std::to_string(route.headers.size());
      }
      const std::string where = method + " " + host + path + config_text;
      ASSERT_EQ(got.status, want.status) << where;
      ASSERT_EQ(got.route, want.route) << where;
      ASSERT_EQ(got.allow, want.allow) << where;
      ASSERT_EQ(got.strip_length, want.strip_length) << where;
      const Explanation explanation = router->explain(request);
      ASSERT_EQ(explanation.match.route, want.route) << where;
      for (const Candidate& candidate : explanation.candidates) {
        ASSERT_NE(candidate.reason, "not selected") << where;
      }
      ++compared;
    }
  }
  EXPECT_EQ(compared, 400 * 60);
}

}  // namespace
}  // namespace turnpike::routing
