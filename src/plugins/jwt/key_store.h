// Where a jwt plugin's keys live while it runs, and how a new key set reaches it: a KeyStore is
// the one publication point (a source publishes a whole new set; workers read the current one on
// a cache miss), and a JwksFile is the source that re-reads `jwks_file` when it changes, polled
// off the request path by one background thread for the whole process. A remote source
// (jwks_url, OIDC discovery) publishes into the same KeyStore.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "plugins/jwt/config.h"
#include "plugins/jwt/jose.h"

namespace turnpike::plugins::jwt {

struct KeySet {
  std::vector<Key> keys;
  uint64_t version = 0;  // grows with every publication; cached verdicts name the one they used
};

class KeyStore {
 public:
  explicit KeyStore(std::vector<Key> keys);
  // The keys now. Takes a lock: called only when a token is not in the verified-token cache.
  std::shared_ptr<const KeySet> current() const;
  // One relaxed load: a cached verdict is good only while this is the version it was made with.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  void publish(std::vector<Key> keys);

  // Failed refreshes (the last good keys stayed), for tests and /config-side reporting.
  std::atomic<uint64_t> refresh_failures{0};

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const KeySet> current_;
  std::atomic<uint64_t> version_{0};
};

// A `jwks_file` feeding a KeyStore: the store's keys are `static_keys` plus the file's.
class JwksFile {
 public:
  JwksFile(std::string path, FileStamp stamp, std::vector<Key> static_keys,
           std::shared_ptr<KeyStore> store);
  // Re-reads the file when its stamp changed since the last read: a good JWKS is published; a
  // bad one (or an unreadable file) keeps the last good keys, is logged and counted. True when
  // new keys were published. Called by the poller; tests call it directly.
  bool refresh();

 private:
  std::string path_;
  FileStamp stamp_;
  std::vector<Key> static_keys_;
  std::shared_ptr<KeyStore> store_;
};

// Has `file` polled (about once a second) for as long as it lives; the poller thread starts with
// the first file and keeps only weak references.
void watch(const std::shared_ptr<JwksFile>& file);

}  // namespace turnpike::plugins::jwt
