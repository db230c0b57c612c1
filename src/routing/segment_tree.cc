// The compiled path tree: building, and the layout for lookups (the search is in the header,
// inlined into the router).
#include "routing/segment_tree.h"

#include <algorithm>
#include <bit>

namespace turnpike::routing {

uint32_t SegmentTree::new_build_node() {
  building_.emplace_back();
  return static_cast<uint32_t>(building_.size() - 1);
}

uint32_t SegmentTree::add_root() {
  roots_.push_back(new_build_node());
  return static_cast<uint32_t>(roots_.size() - 1);
}

std::vector<uint32_t>& SegmentTree::terminal(uint32_t root, const Pattern& pattern) {
  uint32_t at = roots_[root];
  for (const PatternSegment& segment : pattern.segments) {
    switch (segment.kind) {
      case SegmentKind::kStatic: {
        const auto it = building_[at].statics.find(segment.text);
        if (it != building_[at].statics.end()) {
          at = it->second;
        } else {
          const uint32_t child = new_build_node();
          building_[at].statics.emplace(segment.text, child);
          at = child;
        }
        break;
      }
      case SegmentKind::kParam:
        if (building_[at].param == kNone) {
          const uint32_t child = new_build_node();
          building_[at].param = child;
        }
        at = building_[at].param;
        break;
      case SegmentKind::kAny:
        if (building_[at].any == kNone) {
          const uint32_t child = new_build_node();
          building_[at].any = child;
        }
        at = building_[at].any;
        break;
      case SegmentKind::kRest:
        return building_[at].rest;
    }
  }
  return building_[at].exact;
}

void SegmentTree::insert_edge(uint32_t parent, std::string_view label, uint32_t child,
                              const Node& node) {
  Edge edge;
  edge.hash = edge_hash(parent, label);
  edge.parent = parent;
  edge.child = child;
  edge.node = node;
  edge.label_offset = static_cast<uint32_t>(labels_.size());
  edge.label_length = static_cast<uint32_t>(label.size());
  std::memcpy(edge.inline_label, label.data(), std::min(label.size(), kInlineLabel));
  labels_.append(label);
  size_t i = edge.hash & edge_mask_;
  while (edges_[i].hash != 0) i = (i + 1) & edge_mask_;
  edges_[i] = edge;
}

void SegmentTree::finalize(const std::function<bool(uint32_t, uint32_t)>& before,
                           const std::vector<HotRoute>& hot) {
  // New ids: the roots first (so a root's handle is its id), then each root's descendants in
  // depth-first order, static children before {param} before *, as the search goes.
  std::vector<uint32_t> id(building_.size(), kNone);
  std::vector<uint32_t> order;
  order.reserve(building_.size());
  for (const uint32_t root : roots_) {
    id[root] = static_cast<uint32_t>(order.size());
    order.push_back(root);
  }
  std::vector<uint32_t> stack;
  for (const uint32_t root : roots_) {
    stack.push_back(root);
    while (!stack.empty()) {
      const uint32_t at = stack.back();
      stack.pop_back();
      if (id[at] == kNone) {
        id[at] = static_cast<uint32_t>(order.size());
        order.push_back(at);
      }
      const BuildNode& node = building_[at];
      // Pushed in reverse so that they are numbered in search order.
      if (node.any != kNone) stack.push_back(node.any);
      if (node.param != kNone) stack.push_back(node.param);
      for (auto it = node.statics.rbegin(); it != node.statics.rend(); ++it) {
        stack.push_back(it->second);
      }
    }
  }

  size_t edge_count = 0;
  for (const BuildNode& node : building_) edge_count += node.statics.size();
  edges_.assign(std::bit_ceil(std::max<size_t>(16, edge_count * 4 / 3 + 1)), Edge{});
  edge_mask_ = edges_.size() - 1;

  nodes_.assign(order.size(), Node{});
  auto flatten = [&](std::vector<uint32_t>& routes, Span& span) {
    std::sort(routes.begin(), routes.end(), before);
    span.begin = static_cast<uint32_t>(entries_.size());
    span.count = static_cast<uint32_t>(routes.size());
    for (const uint32_t route : routes) entries_.push_back(hot[route]);
  };
  for (uint32_t new_id = 0; new_id < order.size(); ++new_id) {
    BuildNode& from = building_[order[new_id]];
    Node& to = nodes_[new_id];
    to.param = from.param == kNone ? kNone : id[from.param];
    to.any = from.any == kNone ? kNone : id[from.any];
    to.has_static = !from.statics.empty();
    flatten(from.exact, to.exact);
    flatten(from.rest, to.rest);
  }
  // Edges last: each carries a copy of its child node, complete only now.
  for (uint32_t new_id = 0; new_id < order.size(); ++new_id) {
    for (const auto& [label, child] : building_[order[new_id]].statics) {
      insert_edge(new_id, label, id[child], nodes_[id[child]]);
    }
  }
  roots_ = {};
  building_ = {};
}

}  // namespace turnpike::routing
