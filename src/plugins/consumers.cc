// Consumer lookup by key (see consumers.h).
#include "plugins/consumers.h"

#include <openssl/crypto.h>

#include <random>

#include "text/fast_hash.h"

namespace turnpike::plugins {

Consumers::Consumers(const std::vector<config::Consumer>& consumers) {
  std::random_device random;
  seed_ = (static_cast<uint64_t>(random()) << 32) | random();
  for (const config::Consumer& consumer : consumers) {
    by_name_.emplace(consumer.name, &consumer);
    for (const std::string& key : consumer.keys) by_hash_.emplace(hash(key), Entry{key, &consumer});
  }
}

uint64_t Consumers::hash(std::string_view key) const { return text::fast_hash(key, seed_); }

const config::Consumer* Consumers::by_key(std::string_view key) const {
  auto [first, last] = by_hash_.equal_range(hash(key));
  for (auto it = first; it != last; ++it) {
    const Entry& e = it->second;
    if (e.key.size() == key.size() && CRYPTO_memcmp(e.key.data(), key.data(), key.size()) == 0) {
      return e.consumer;
    }
  }
  return nullptr;
}

const config::Consumer* Consumers::by_name(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

}  // namespace turnpike::plugins
