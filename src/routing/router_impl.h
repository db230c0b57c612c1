// Internals of the router shared by build and match (router.cc) and explain (router_explain.cc).
// Not included outside src/routing/.
#pragma once

#include <re2/re2.h>
#include <re2/set.h>

#include <bitset>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "text/fast_hash.h"
#include "routing/host.h"
#include "routing/pattern.h"
#include "routing/router.h"
#include "routing/segment_tree.h"

namespace turnpike::routing {

// Well-known methods as bits, so that the lookup tests a route's methods with one AND.
inline constexpr uint32_t kAllMethods = UINT32_MAX;    // the route has no `methods`
inline constexpr uint32_t kOtherMethodBit = 1u << 31;  // it lists one outside the table
uint32_t method_bit(std::string_view method);          // 0 when not well-known

// A config::Route reduced to what matching needs, in comparable form.
struct CompiledRoute {
  std::string name;                  // the route's name, or "routes[i]" when it has none
  std::vector<std::string> methods;  // sorted, unique; empty = any
  std::vector<std::pair<std::string, std::string>> headers;  // sorted by name
  std::vector<HostEntry> hosts;                              // sorted, unique; empty = any host
  std::vector<Pattern> patterns;  // `paths`, or the implicit "/**" when neither paths nor regex
  std::unique_ptr<RE2> regex;     // null: no regex
  bool strip_prefix = false;

  bool allows(std::string_view method) const {
    if (methods.empty()) return true;
    for (const std::string& m : methods) {
      if (m == method) return true;
    }
    return false;
  }
  // The first header condition that does not hold, or null when all hold.
  const std::pair<std::string, std::string>* failing_header(const HeaderSource* source) const {
    for (const auto& condition : headers) {
      const std::optional<std::string_view> value =
          source ? source->get(condition.first) : std::nullopt;
      if (!value || *value != condition.second) return &condition;
    }
    return nullptr;
  }
  // Best host rank among `hosts` for a canonical request host (kHostRankNoMatch: none).
  int best_host_rank(std::string_view host, bool host_ok, const HostEntry** entry) const;
};

// Order of routes that end at the same tree terminal: more header conditions first (SPEC §2.1
// rule 3), then a route with `methods` before one without (more specific, as in Kong). The rest
// only makes the order independent of the file: routes still equal cannot both match one
// request without being duplicates (a build error).
bool terminal_before(const CompiledRoute& a, uint32_t a_index, const CompiledRoute& b,
                     uint32_t b_index);

// Lets a HostMap be searched with a string_view (no std::string built per request).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return text::fast_hash(s); }
};
using HostMap = std::unordered_map<std::string, uint32_t, StringHash, std::equal_to<>>;

struct Router::Impl {
  std::vector<CompiledRoute> routes;
  std::vector<HotRoute> hot;  // by route index, like `routes`; copied into the tree
  SegmentTree tree;
  HostMap exact_hosts;     // canonical host -> tree root
  HostMap wildcard_hosts;  // suffix after "*." -> tree root
  // Lengths present in the maps above: most hash lookups a request would make are skipped.
  std::bitset<kMaxHostLength + 1> exact_lengths;
  std::bitset<kMaxHostLength + 1> wildcard_lengths;
  uint32_t any_host_root = SegmentTree::kNone;
  std::unique_ptr<RE2::Set> regex_set;  // over routes with `regex`, in file order
  std::vector<uint32_t> regex_routes;   // set index -> route index

  // Walks the host buckets in precedence order (exact, wildcards longest suffix first, no host)
  // and searches each bucket's tree; stops when `visit` returns true.
  template <typename Visit>
  bool search(std::string_view host, bool host_ok, std::string_view path, Visit&& visit) const {
    if (host_ok && !host.empty()) {
      if (exact_lengths[host.size()]) {
        const auto it = exact_hosts.find(host);
        if (it != exact_hosts.end() && tree.search(it->second, path, visit)) return true;
      }
      if (!wildcard_hosts.empty()) {
        for (size_t dot = host.find('.', 1); dot != std::string_view::npos;
             dot = host.find('.', dot + 1)) {
          const std::string_view suffix = host.substr(dot + 1);
          if (!wildcard_lengths[suffix.size()]) continue;
          const auto it = wildcard_hosts.find(suffix);
          if (it != wildcard_hosts.end() && tree.search(it->second, path, visit)) return true;
        }
      }
    }
    return any_host_root != SegmentTree::kNone && tree.search(any_host_root, path, visit);
  }

  // Fills `hits` with the indices of the routes whose regex matches `path`, in file order. One
  // RE2::Set pass; should the set's DFA run out of memory, each regex is tried in turn instead.
  void regex_hits(std::string_view path, std::vector<int>& hits) const;

  // Builds the host buckets and their trees from `routes`, and reports routes whose conditions
  // are identical to an earlier route's.
  void index_routes(std::vector<config::ConfigError>& errors);

  enum class Verdict { kNo, kAllButMethod, kYes };
  // Whether a route accepts the request's headers and method (host and path already hold).
  // `method` is method_bit(request.method).
  Verdict accepts(const HotRoute& h, const RouteRequest& request, uint32_t method) const {
    if (h.has_headers && routes[h.route].failing_header(request.headers) != nullptr) {
      return Verdict::kNo;
    }
    const bool allowed =
        h.methods == kAllMethods || (method != 0 ? (h.methods & method) != 0
                                                 : (h.methods & kOtherMethodBit) != 0 &&
                                                       routes[h.route].allows(request.method));
    return allowed ? Verdict::kYes : Verdict::kAllButMethod;
  }

  RouteMatch match(const RouteRequest& request) const;
  std::string allow_list(const RouteRequest& request, std::string_view host, bool host_ok) const;
};

}  // namespace turnpike::routing
