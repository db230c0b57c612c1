// Per-plugin slots, Arena, header edits and the names no edit may touch (see plugin.h).
#include "plugins/plugin.h"

#include <cstdlib>
#include <cstring>

namespace turnpike::plugins {

uint64_t& Context::slot(const Plugin* plugin) {
  for (Slot& s : slots_) {
    if (s.owner == plugin) return s.value;
    if (!s.owner) {
      s.owner = plugin;
      return s.value;
    }
  }
  // A chain holds each plugin once and at most kSlots of them (chain.cc checks kOrder's size).
  std::abort();
}

std::string_view Arena::copy(std::string_view text) {
  char* out;
  if (text.size() <= sizeof(inline_) - used_) {
    out = inline_ + used_;
    used_ += text.size();
  } else {
    blocks_.push_back(std::make_unique<char[]>(text.size()));
    out = blocks_.back().get();
  }
  if (!text.empty()) std::memcpy(out, text.data(), text.size());
  return std::string_view(out, text.size());
}

bool HeaderEdits::drops(std::string_view name) const {
  for (std::size_t i = 0; i < size_; ++i) {
    if (at(i).op == Op::kAdd) continue;
    // The same constant (a plugin asking about its own edit) needs no byte compare.
    if (at(i).name.data() == name.data() && at(i).name.size() == name.size()) return true;
    if (http::iequals(at(i).name, name)) return true;
  }
  return false;
}

bool HeaderEdits::superseded(std::size_t i) const {
  for (std::size_t j = i + 1; j < size_; ++j) {
    if (at(j).op != Op::kAdd && http::iequals(at(j).name, at(i).name)) return true;
  }
  return false;
}

const char* protected_header(std::string_view name) {
  switch (http::classify_header(name)) {
    case http::HeaderId::kContentLength:
    case http::HeaderId::kTransferEncoding:
      return "the gateway writes the framing of every message itself";
    case http::HeaderId::kConnection:
    case http::HeaderId::kKeepAlive:
    case http::HeaderId::kProxyConnection:
    case http::HeaderId::kTe:
    case http::HeaderId::kTrailer:
    case http::HeaderId::kUpgrade:
      return "a hop-by-hop field cannot be set by a plugin";
    case http::HeaderId::kHost:
      return "the gateway forwards the Host it routed on";
    case http::HeaderId::kXForwardedFor:
    case http::HeaderId::kXForwardedProto:
    case http::HeaderId::kXForwardedHost:
    case http::HeaderId::kXRequestId:
    case http::HeaderId::kTraceparent:
      return "the gateway sets this field itself";
    default:
      return nullptr;
  }
}

}  // namespace turnpike::plugins
