// The consumers of one configuration (SPEC §2) as authentication looks them up: by key, in a
// hash table built once per snapshot. Keys are secrets, so no lookup compares a presented key
// with a stored one in a way whose time depends on how many bytes agree.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/model.h"

namespace turnpike::plugins {

class Consumers {
 public:
  Consumers() = default;
  // Refers to `consumers` (the snapshot's configuration), which must outlive this.
  explicit Consumers(const std::vector<config::Consumer>& consumers);

  // The consumer one of whose keys is `key`, or null. The table is keyed by a hash of the key
  // with a seed drawn for each build (which bucket a key falls in tells an observer nothing about
  // the stored keys); the candidates there are compared whole, in constant time.
  const config::Consumer* by_key(std::string_view key) const;
  // The consumer of this name, or null (a token's consumer_claim naming a configured consumer).
  const config::Consumer* by_name(std::string_view name) const;

 private:
  struct Entry {
    std::string_view key;
    const config::Consumer* consumer;
  };
  struct Identity {
    std::size_t operator()(uint64_t h) const { return static_cast<std::size_t>(h); }
  };
  uint64_t hash(std::string_view key) const;

  uint64_t seed_ = 0;
  std::unordered_multimap<uint64_t, Entry, Identity> by_hash_;
  std::unordered_map<std::string_view, const config::Consumer*> by_name_;
};

}  // namespace turnpike::plugins
