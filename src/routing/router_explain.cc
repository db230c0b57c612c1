// The admin API's /routes/explain: the router's own decision, then every route evaluated on its
// own (O(routes), off the hot path) to say why it lost to the winner.
#include <string>

#include "routing/router_impl.h"

namespace turnpike::routing {
namespace {

// How far one route got with the request, and its best way of matching it.
struct Evaluation {
  enum class Stage { kHost, kPath, kHeader, kMethod, kMatched };
  Stage stage = Stage::kHost;
  std::string reason;  // why it failed, when stage != kMatched
  int host_rank = kHostRankNoMatch;
  const HostEntry* host = nullptr;   // null: the route has no `hosts`
  const Pattern* pattern = nullptr;  // its best matching pattern; null with via_regex
  PatternMatch path;
  bool via_regex = false;
};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

Evaluation evaluate(const CompiledRoute& route, const RouteRequest& request, std::string_view host,
                    bool host_ok) {
  Evaluation e;
  e.host_rank = route.best_host_rank(host, host_ok, &e.host);
  if (e.host_rank == kHostRankNoMatch) {
    e.reason = "host does not match";
    return e;
  }
  e.stage = Evaluation::Stage::kPath;
  for (const Pattern& pattern : route.patterns) {
    PatternMatch candidate;
    if (match_pattern(pattern, request.path, candidate) &&
        (e.pattern == nullptr || candidate.ranks < e.path.ranks)) {
      e.pattern = &pattern;
      e.path = std::move(candidate);
    }
  }
  if (e.pattern == nullptr) {
    if (route.regex && RE2::PartialMatch(request.path, *route.regex)) {
      e.via_regex = true;
    } else {
      e.reason = route.patterns.empty() ? "path does not match the regex" : "path does not match";
      return e;
    }
  }
  e.stage = Evaluation::Stage::kHeader;
  if (const auto* condition = route.failing_header(request.headers)) {
    e.reason = "header " + condition->first + " does not match";
    return e;
  }
  e.stage = Evaluation::Stage::kMethod;
  if (!route.allows(request.method)) {
    e.reason =
        "method " + std::string(request.method) + " not allowed (" + join(route.methods) + ")";
    return e;
  }
  e.stage = Evaluation::Stage::kMatched;
  return e;
}

std::string host_kind(const Evaluation& e) {
  if (e.host_rank == kHostRankExact) return "exact host";
  if (e.host_rank == kHostRankAny) return "no host";
  return "wildcard host";
}

std::string step_name(StepRank rank, const Pattern& pattern, size_t index) {
  switch (rank) {
    case StepRank::kStatic:
      return "static segment";
    case StepRank::kParam:
      return "{" + pattern.segments[index].text + "}";
    case StepRank::kAny:
      return "*";
    case StepRank::kEnd:
      return "exact path";
    case StepRank::kRest:
      return "**";
  }
  return "?";
}

std::string selected_reason(const CompiledRoute& route, const Evaluation& e) {
  std::string out = "selected: ";
  out += e.host == nullptr || e.host->kind == HostEntry::Kind::kAny ? "any host"
                                                                    : "host " + e.host->to_string();
  out += e.via_regex ? ", regex " + route.regex->pattern() : ", path " + e.pattern->source;
  if (!route.headers.empty()) {
    out += ", " + std::to_string(route.headers.size()) + " header condition" +
           (route.headers.size() == 1 ? "" : "s");
  }
  return out;
}

// Why `loser`, which matched every condition, comes after `winner` (SPEC §2.1 rules 1-4).
std::string precedence_reason(const CompiledRoute& winner, const Evaluation& w,
                              uint32_t winner_index, const CompiledRoute& loser,
                              const Evaluation& l) {
  if (w.via_regex) {
    return "lower precedence: regex routes are tried in file order, and route \"" + winner.name +
           "\" (routes[" + std::to_string(winner_index) + "]) comes first";
  }
  if (l.via_regex) return "regex routes are tried only when no paths route matches";
  if (w.host_rank != l.host_rank) {
    if (w.host_rank > kHostRankExact && l.host_rank < kHostRankAny) {
      return "lower precedence: wildcard " + w.host->to_string() + " beats " + l.host->to_string();
    }
    return "lower precedence: " + host_kind(w) + " beats " + host_kind(l);
  }
  const auto& a = w.path.ranks;
  const auto& b = l.path.ranks;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] != b[i]) {
      return "lower precedence: " + step_name(a[i], *w.pattern, i) + " beats " +
             step_name(b[i], *l.pattern, i) + " at segment " + std::to_string(i + 1);
    }
  }
  const size_t wh = winner.headers.size();
  const size_t lh = loser.headers.size();
  if (wh != lh) {
    if (lh == 0) return "lower precedence: a route with header conditions beats one without";
    return "lower precedence: " + std::to_string(wh) + " header conditions beat " +
           std::to_string(lh);
  }
  if (!winner.methods.empty() && loser.methods.empty()) {
    return "lower precedence: a route with methods beats one without";
  }
  return "lower precedence: equal otherwise; ties are broken by header conditions, methods, "
         "then name";
}

}  // namespace

Explanation Router::explain(const RouteRequest& request) const {
  const Impl& impl = *impl_;
  Explanation out;
  out.match = impl.match(request);
  char buffer[kMaxHostLength];
  std::string_view host;
  const bool host_ok = canonical_host(request.host, buffer, host);

  std::vector<Evaluation> evaluations;
  evaluations.reserve(impl.routes.size());
  for (const CompiledRoute& route : impl.routes) {
    evaluations.push_back(evaluate(route, request, host, host_ok));
  }
  const int winner = out.match.status == 200 ? out.match.route : -1;
  if (winner >= 0) {
    out.candidates.push_back(
        {impl.routes[winner].name, selected_reason(impl.routes[winner], evaluations[winner])});
  }
  for (size_t i = 0; i < impl.routes.size(); ++i) {
    if (static_cast<int>(i) == winner) continue;
    const Evaluation& e = evaluations[i];
    std::string reason = e.reason;
    if (e.stage == Evaluation::Stage::kMatched) {
      reason = winner < 0 ? "not selected"  // unreachable while match() and this agree
                          : precedence_reason(impl.routes[winner], evaluations[winner],
                                              static_cast<uint32_t>(winner), impl.routes[i], e);
    }
    out.candidates.push_back({impl.routes[i].name, std::move(reason)});
  }
  return out;
}

}  // namespace turnpike::routing
