// Where a jwt plugin's keys live while it runs, and how a new key set reaches it: a KeyStore is
// the one publication point (a source publishes a whole new set; workers read the current one on
// a cache miss), and a JwksFile is the source that re-reads `jwks_file` when it changes, polled
// off the request path by one background thread for the whole process. A remote source
// (jwks_url, OIDC discovery; remote_jwks.h) publishes into the same KeyStore.
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
  // Where keys come from: each source replaces its own part; the set is every part together.
  enum Part : int { kStatic, kFile, kRemote, kParts };

  explicit KeyStore(std::vector<Key> static_keys, std::vector<Key> file_keys = {});
  // The keys now. Takes a lock: called only when a token is not in the verified-token cache.
  std::shared_ptr<const KeySet> current() const;
  // One relaxed load: a cached verdict is good only while this is the version it was made with.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }
  void publish(Part part, std::vector<Key> keys);

  // Failed refreshes (the last good keys stayed), for tests and /config-side reporting.
  std::atomic<uint64_t> refresh_failures{0};

 private:
  mutable std::mutex mutex_;
  std::vector<Key> parts_[kParts];
  std::shared_ptr<const KeySet> current_;
  std::atomic<uint64_t> version_{0};
};

// A source the background poller visits about once a second (off the request path).
class PolledSource {
 public:
  virtual ~PolledSource() = default;
  virtual void poll() = 0;
};

// A `jwks_file` feeding a KeyStore's file part.
class JwksFile final : public PolledSource {
 public:
  JwksFile(std::string path, FileStamp stamp, std::shared_ptr<KeyStore> store);
  // Re-reads the file when its stamp changed since the last read: a good JWKS is published; a
  // bad one (or an unreadable file) keeps the last good keys, is logged and counted. True when
  // new keys were published. Called by the poller; tests call it directly.
  bool refresh();
  void poll() override { refresh(); }

 private:
  std::string path_;
  FileStamp stamp_;
  std::shared_ptr<KeyStore> store_;
};

// Has `source` polled (about once a second) for as long as it lives; the poller thread starts
// with the first source and keeps only weak references.
void watch(const std::shared_ptr<PolledSource>& source);

}  // namespace turnpike::plugins::jwt
