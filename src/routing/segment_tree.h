// The compiled path tree: one root per host bucket, searched depth-first in precedence order
// (static, then {param}, then *, then **) with backtracking. Internal to the router.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "text/fast_hash.h"
#include "routing/huge_pages.h"
#include "routing/pattern.h"

namespace turnpike::routing {

// What the lookup needs of a route to test it once host and path hold. Stored in the tree next
// to the other routes that end at the same place, so a candidate costs no further memory access.
struct HotRoute {
  uint32_t route = 0;             // index in the configuration
  uint32_t methods = UINT32_MAX;  // well-known method bits (router_impl.h); all ones: any method
  bool has_headers = false;
  bool strip_prefix = false;
};

class SegmentTree {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // Build: add roots, add each route at the terminal its pattern ends at, then finalize() once.
  // A root's handle is its node id in the finished tree.
  uint32_t add_root();
  // The routes ending where `pattern` ends under `root`, created on first use. The reference is
  // valid until the next call.
  std::vector<uint32_t>& terminal(uint32_t root, const Pattern& pattern);
  // Lays the tree out for lookups: nodes in depth-first order (a path's nodes sit together in
  // memory), one flat table of static edges, each terminal's routes sorted by `before` (rule 3).
  void finalize(const std::function<bool(uint32_t, uint32_t)>& before,
                const std::vector<HotRoute>& hot);

  // Calls `visit(std::span<const HotRoute> routes, bool via_rest, size_t prefix_length)` for
  // each terminal `path` reaches, best first, until it returns true; returns whether one did.
  // prefix_length, with via_rest, is the bytes of the path before the `**`. No allocation;
  // recursion depth is bounded by the deepest pattern, not by the path.
  template <typename Visit>
  bool search(uint32_t root, std::string_view path, Visit&& visit) const {
    if (path.empty() || path.front() != '/') return false;
    return search_node(nodes_[root], root, path, path.substr(1), true, visit);
  }

 private:
  struct Span {
    uint32_t begin = 0;
    uint32_t count = 0;
  };
  struct Node {
    uint32_t param = kNone;  // child for {name}, whatever the name
    uint32_t any = kNone;    // child for *
    Span exact;              // routes whose pattern ends here
    Span rest;               // routes whose pattern ends with ** here
    bool has_static = false;
  };
  // Static children of every node sit in one open-addressing table keyed by (parent, text).
  // A slot is one cache line holding the key, a copy of the child node and labels up to 8
  // bytes, so a static step usually costs one cache miss: what keeps 100,000 routes close to 10.
  struct alignas(64) Edge {
    uint64_t hash = 0;  // 0: empty slot
    uint32_t parent = kNone;
    uint32_t child = kNone;
    Node node;                  // nodes_[child], copied
    uint32_t label_offset = 0;  // into labels_
    uint32_t label_length = 0;
    char inline_label[8] = {};
  };
  static_assert(sizeof(Edge) == 64);
  static constexpr size_t kInlineLabel = sizeof(Edge::inline_label);

  // The tree while it is being built: plain and easy to change, thrown away by finalize().
  struct BuildNode {
    std::map<std::string, uint32_t, std::less<>> statics;
    uint32_t param = kNone;
    uint32_t any = kNone;
    std::vector<uint32_t> exact;
    std::vector<uint32_t> rest;
  };

  static uint64_t edge_hash(uint32_t parent, std::string_view label) {
    // Never 0, the empty mark; the bit set is one the slot index never uses.
    return text::fast_hash(label, parent) | (uint64_t{1} << 63);
  }

  bool same_label(const Edge& edge, std::string_view label) const {
    if (label.size() > kInlineLabel) {
      return std::memcmp(labels_.data() + edge.label_offset, label.data(), label.size()) == 0;
    }
    for (size_t i = 0; i < label.size(); ++i) {  // short: no call to memcmp
      if (edge.inline_label[i] != label[i]) return false;
    }
    return true;
  }

  const Edge* find_edge(uint32_t parent, std::string_view label) const {
    const uint64_t hash = edge_hash(parent, label);
    for (size_t i = hash & edge_mask_;; i = (i + 1) & edge_mask_) {
      const Edge& edge = edges_[i];
      if (edge.hash == 0) return nullptr;
      if (edge.hash == hash && edge.parent == parent && edge.label_length == label.size() &&
          same_label(edge, label)) {
        return &edge;
      }
    }
  }

  template <typename Visit>
  bool search_node(const Node& node, uint32_t index, std::string_view path, std::string_view rest,
                   bool has_more, Visit& visit) const {
    if (!has_more) {
      if (node.exact.count != 0 && visit(entries(node.exact), false, size_t{0})) return true;
      return node.rest.count != 0 && visit(entries(node.rest), true, path.size());
    }
    // Segments are short: a plain loop beats a call to memchr.
    size_t length = 0;
    while (length < rest.size() && rest[length] != '/') ++length;
    const bool next_more = length < rest.size();
    const std::string_view segment(rest.data(), length);
    const std::string_view next =
        next_more ? std::string_view(rest.data() + length + 1, rest.size() - length - 1)
                  : std::string_view();
    if (node.has_static) {
      const Edge* edge = find_edge(index, segment);
      if (edge != nullptr && search_node(edge->node, edge->child, path, next, next_more, visit)) {
        return true;
      }
    }
    if (!segment.empty()) {  // {param} and * never match an empty segment
      if (node.param != kNone &&
          search_node(nodes_[node.param], node.param, path, next, next_more, visit)) {
        return true;
      }
      if (node.any != kNone &&
          search_node(nodes_[node.any], node.any, path, next, next_more, visit)) {
        return true;
      }
    }
    // `**` here takes the rest, which starts at `rest`: the prefix ends at the '/' before it.
    return node.rest.count != 0 &&
           visit(entries(node.rest), true, static_cast<size_t>(rest.data() - path.data()) - 1);
  }

  std::span<const HotRoute> entries(Span span) const {
    return {entries_.data() + span.begin, span.count};
  }

  uint32_t new_build_node();
  void insert_edge(uint32_t parent, std::string_view label, uint32_t child, const Node& node);

  std::vector<uint32_t> roots_;  // handle -> build node
  std::vector<BuildNode> building_;

  std::vector<Node, HugePageAllocator<Node>> nodes_;
  std::vector<Edge, HugePageAllocator<Edge>> edges_;  // a power of two in size, <= 3/4 full
  size_t edge_mask_ = 0;
  std::string labels_;  // static segment texts, back to back
  // Every terminal's routes, back to back.
  std::vector<HotRoute, HugePageAllocator<HotRoute>> entries_;
};

}  // namespace turnpike::routing
