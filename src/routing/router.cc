// The router: compiling routes into host buckets, path trees and one RE2 set; the lookup.
#include "routing/router.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>

#include "routing/router_impl.h"

namespace turnpike::routing {
namespace {

// The DFA budget of the regex set. The set holds every regex route at once, so it gets more
// than RE2's 8 MiB default; should a request still exhaust it, the lookup falls back to trying
// each regex in turn (regex_hits) rather than failing.
constexpr int64_t kRegexSetMaxMem = 64 << 20;

RE2::Options regex_options() {
  RE2::Options options;
  options.set_log_errors(false);  // errors are reported as ConfigErrors, not on stderr
  options.set_max_mem(kRegexSetMaxMem);
  return options;
}

std::string route_path(size_t index) { return "routes[" + std::to_string(index) + "]"; }

template <typename T>
void sort_unique(std::vector<T>& items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
}

// Whether two routes that are otherwise equal would compete for some method. A route without
// `methods` does not compete with one that has them: the one with methods is more specific and
// comes first (terminal_before), so only two method-less routes, or two lists that share a
// method, are ambiguous.
bool methods_overlap(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty();
  for (const std::string& method : a) {
    if (std::binary_search(b.begin(), b.end(), method)) return true;
  }
  return false;
}

CompiledRoute compile_route(const config::Route& route, size_t index,
                            std::vector<config::ConfigError>& errors) {
  const std::string path = route_path(index);
  CompiledRoute out;
  out.name = route.name.empty() ? path : route.name;
  out.methods = route.methods;
  sort_unique(out.methods);
  for (const auto& [name, value] : route.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.headers.emplace_back(std::move(lower), value);
  }
  sort_unique(out.headers);
  for (size_t i = 0; i < route.hosts.size(); ++i) {
    HostEntry entry;
    const std::string error = parse_host_entry(route.hosts[i], entry);
    if (!error.empty()) {
      errors.push_back({path + ".hosts[" + std::to_string(i) + "]", error});
      continue;
    }
    out.hosts.push_back(std::move(entry));
  }
  sort_unique(out.hosts);
  // `hosts: ["*"]` is the same as no `hosts`; "*" beside names still matters (it adds the
  // no-host bucket), so only the lone form is folded.
  if (out.hosts.size() == 1 && out.hosts[0].kind == HostEntry::Kind::kAny) out.hosts.clear();
  for (size_t i = 0; i < route.paths.size(); ++i) {
    Pattern pattern;
    std::string error;
    if (!parse_pattern(route.paths[i], pattern, error)) {
      errors.push_back({path + ".paths[" + std::to_string(i) + "]", error});
      continue;
    }
    out.patterns.push_back(std::move(pattern));
  }
  if (route.regex) {
    auto regex = std::make_unique<RE2>(*route.regex, regex_options());
    if (!regex->ok()) {
      errors.push_back({path + ".regex", "invalid regex: " + regex->error()});
    } else {
      out.regex = std::move(regex);
    }
  } else if (route.paths.empty()) {
    Pattern all;
    std::string unused;
    parse_pattern("/**", all, unused);
    out.patterns.push_back(std::move(all));
  }
  out.strip_prefix = route.strip_prefix;
  return out;
}

}  // namespace

uint32_t method_bit(std::string_view method) {
  static constexpr std::string_view kMethods[] = {"GET",     "HEAD",    "POST",  "PUT",  "DELETE",
                                                  "CONNECT", "OPTIONS", "TRACE", "PATCH"};
  for (size_t i = 0; i < std::size(kMethods); ++i) {
    if (method == kMethods[i]) return 1u << i;
  }
  return 0;
}

bool terminal_before(const CompiledRoute& a, uint32_t a_index, const CompiledRoute& b,
                     uint32_t b_index) {
  if (a.headers.size() != b.headers.size()) return a.headers.size() > b.headers.size();
  if (a.methods.empty() != b.methods.empty()) return !a.methods.empty();
  if (a.headers != b.headers) return a.headers < b.headers;
  if (a.methods != b.methods) return a.methods < b.methods;
  if (a.name != b.name) return a.name < b.name;
  return a_index < b_index;
}

int CompiledRoute::best_host_rank(std::string_view host, bool host_ok,
                                  const HostEntry** entry) const {
  if (entry != nullptr) *entry = nullptr;
  if (hosts.empty()) return kHostRankAny;
  int best = kHostRankNoMatch;
  for (const HostEntry& candidate : hosts) {
    const int rank = candidate.kind == HostEntry::Kind::kAny ? kHostRankAny
                     : host_ok                               ? host_rank(candidate, host)
                                                             : kHostRankNoMatch;
    if (rank < best) {
      best = rank;
      if (entry != nullptr) *entry = &candidate;
    }
  }
  return best;
}

// Two routes with identical conditions could be told apart only by file order, which must not
// matter (SPEC §2.1): the later one is an error.
void Router::Impl::index_routes(std::vector<config::ConfigError>& errors) {
  std::set<std::pair<uint32_t, uint32_t>> reported;
  auto report = [&](uint32_t later, uint32_t earlier) {
    if (!reported.emplace(later, earlier).second) return;
    const CompiledRoute& first = routes[earlier];
    errors.push_back({route_path(later), "same conditions as route \"" + first.name + "\" (" +
                                             route_path(earlier) + ")"});
  };
  auto same_conditions = [](const CompiledRoute& a, const CompiledRoute& b) {
    return a.headers == b.headers && methods_overlap(a.methods, b.methods);
  };
  auto bucket_root = [this](const HostEntry* entry) {
    if (entry == nullptr || entry->kind == HostEntry::Kind::kAny) {
      if (any_host_root == SegmentTree::kNone) any_host_root = tree.add_root();
      return any_host_root;
    }
    const bool exact = entry->kind == HostEntry::Kind::kExact;
    HostMap& map = exact ? exact_hosts : wildcard_hosts;
    const auto it = map.find(entry->name);
    if (it != map.end()) return it->second;
    const uint32_t root = tree.add_root();
    map.emplace(entry->name, root);
    (exact ? exact_lengths : wildcard_lengths).set(entry->name.size());
    return root;
  };

  for (uint32_t id = 0; id < routes.size(); ++id) {
    const CompiledRoute& route = routes[id];
    auto add_to = [&](uint32_t root) {
      for (const Pattern& pattern : route.patterns) {
        std::vector<uint32_t>& terminal = tree.terminal(root, pattern);
        bool present = false;
        for (const uint32_t other : terminal) {
          if (other == id) {
            present = true;  // the same route twice (two spellings of one pattern or host)
          } else if (same_conditions(routes[other], route)) {
            report(id, other);
          }
        }
        if (!present) terminal.push_back(id);
      }
    };
    if (route.hosts.empty()) {
      add_to(bucket_root(nullptr));
    } else {
      for (const HostEntry& entry : route.hosts) add_to(bucket_root(&entry));
    }
  }
  tree.finalize(
      [this](uint32_t a, uint32_t b) { return terminal_before(routes[a], a, routes[b], b); }, hot);

  // Regex routes are tried in file order, so a later one with the same conditions is dead.
  std::unordered_map<std::string_view, std::vector<uint32_t>> by_regex;
  for (const uint32_t id : regex_routes) {
    const CompiledRoute& route = routes[id];
    std::vector<uint32_t>& earlier = by_regex[route.regex->pattern()];
    for (const uint32_t other : earlier) {
      if (routes[other].hosts == route.hosts && same_conditions(routes[other], route)) {
        report(id, other);
      }
    }
    earlier.push_back(id);
  }
}

void Router::Impl::regex_hits(std::string_view path, std::vector<int>& hits) const {
  hits.clear();
  if (regex_routes.size() == 1) {  // no need to ask the set which (that allocates in RE2)
    if (RE2::PartialMatch(path, *routes[regex_routes[0]].regex)) {
      hits.push_back(static_cast<int>(regex_routes[0]));
    }
    return;
  }
  RE2::Set::ErrorInfo info{};
  if (regex_set->Match(path, &hits, &info)) {
    for (int& hit : hits) hit = static_cast<int>(regex_routes[hit]);
    std::sort(hits.begin(), hits.end());
    return;
  }
  if (info.kind == RE2::Set::kNoError) return;  // nothing matched
  hits.clear();
  for (const uint32_t id : regex_routes) {
    if (RE2::PartialMatch(path, *routes[id].regex)) hits.push_back(static_cast<int>(id));
  }
}

RouteMatch Router::Impl::match(const RouteRequest& request) const {
  RouteMatch result;
  char buffer[kMaxHostLength];
  std::string_view host;
  const bool host_ok = canonical_host(request.host, buffer, host);
  const uint32_t method = method_bit(request.method);
  bool method_mismatch = false;

  // Path routes: host buckets in precedence order, each tree best first (rules 1-3, 5).
  auto visit = [&](std::span<const HotRoute> terminal, bool via_rest, size_t prefix_length) {
    for (const HotRoute& candidate : terminal) {
      const Verdict verdict = accepts(candidate, request, method);
      if (verdict == Verdict::kAllButMethod) method_mismatch = true;
      if (verdict != Verdict::kYes) continue;
      result.status = 200;
      result.route = static_cast<int>(candidate.route);
      result.strip_length = via_rest && candidate.strip_prefix ? prefix_length : 0;
      return true;
    }
    return false;
  };
  if (search(host, host_ok, request.path, visit)) return result;

  // Regex routes, only now (rule 4). The first pass asks the set only whether anything matches:
  // it allocates nothing, so a 404 stays allocation-free; the second collects which.
  if (regex_set) {
    RE2::Set::ErrorInfo info{};
    if (regex_set->Match(request.path, nullptr, &info) || info.kind != RE2::Set::kNoError) {
      thread_local std::vector<int> hits;  // keeps its capacity from one request to the next
      regex_hits(request.path, hits);
      for (const int id : hits) {
        if (routes[id].best_host_rank(host, host_ok, nullptr) == kHostRankNoMatch) continue;
        const Verdict verdict = accepts(hot[id], request, method);
        if (verdict == Verdict::kAllButMethod) method_mismatch = true;
        if (verdict != Verdict::kYes) continue;
        result.status = 200;
        result.route = id;
        return result;
      }
    }
  }

  if (method_mismatch) {
    result.status = 405;
    result.allow = allow_list(request, host, host_ok);
  }
  return result;
}

std::string Router::Impl::allow_list(const RouteRequest& request, std::string_view host,
                                     bool host_ok) const {
  const uint32_t method = method_bit(request.method);
  std::vector<std::string_view> methods;
  auto add = [&](const HotRoute& candidate) {
    if (accepts(candidate, request, method) != Verdict::kAllButMethod) return;
    const std::vector<std::string>& allowed = routes[candidate.route].methods;
    methods.insert(methods.end(), allowed.begin(), allowed.end());
  };
  search(host, host_ok, request.path,
         [&](std::span<const HotRoute> terminal, bool /*via_rest*/, size_t /*prefix*/) {
           for (const HotRoute& candidate : terminal) add(candidate);
           return false;  // visit every terminal the path reaches
         });
  if (regex_set) {
    std::vector<int> hits;
    regex_hits(request.path, hits);
    for (const int id : hits) {
      if (routes[id].best_host_rank(host, host_ok, nullptr) != kHostRankNoMatch) add(hot[id]);
    }
  }
  sort_unique(methods);
  std::string allow;
  for (const std::string_view method : methods) {
    if (!allow.empty()) allow += ", ";
    allow += method;
  }
  return allow;
}

std::unique_ptr<Router> Router::build(const std::vector<config::Route>& routes,
                                      std::vector<config::ConfigError>& errors) {
  const size_t first_error = errors.size();
  auto impl = std::make_unique<Impl>();
  impl->routes.reserve(routes.size());
  impl->hot.reserve(routes.size());
  impl->regex_set = std::make_unique<RE2::Set>(regex_options(), RE2::UNANCHORED);
  for (size_t i = 0; i < routes.size(); ++i) {
    CompiledRoute route = compile_route(routes[i], i, errors);
    if (route.regex) {
      std::string error;
      if (impl->regex_set->Add(route.regex->pattern(), &error) < 0) {
        errors.push_back({route_path(i) + ".regex", "invalid regex: " + error});
      } else {
        impl->regex_routes.push_back(static_cast<uint32_t>(i));
      }
    }
    HotRoute hot;
    hot.route = static_cast<uint32_t>(i);
    if (!route.methods.empty()) {
      hot.methods = 0;
      for (const std::string& m : route.methods) {
        const uint32_t bit = method_bit(m);
        hot.methods |= bit != 0 ? bit : kOtherMethodBit;
      }
    }
    hot.has_headers = !route.headers.empty();
    hot.strip_prefix = route.strip_prefix;
    impl->hot.push_back(hot);
    impl->routes.push_back(std::move(route));
  }
  if (impl->regex_routes.empty()) {
    impl->regex_set.reset();
  } else if (!impl->regex_set->Compile()) {
    errors.push_back({"routes", "the regex routes are too large to compile together"});
  }
  impl->index_routes(errors);
  if (errors.size() != first_error) return nullptr;
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

RouteMatch Router::match(const RouteRequest& request) const { return impl_->match(request); }

}  // namespace turnpike::routing
