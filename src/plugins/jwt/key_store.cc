// Key sets and the jwks_file poller (see key_store.h).
#include "plugins/jwt/key_store.h"

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <thread>

#include "observe/log.h"

namespace turnpike::plugins::jwt {
namespace {

constexpr auto kPollInterval = std::chrono::seconds(1);

// One thread for every watched file of the process. Plugins come and go with snapshots; the
// poller holds them weakly and forgets the ones that are gone.
class Poller {
 public:
  ~Poller() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void add(const std::shared_ptr<PolledSource>& source) {
    std::lock_guard lock(mutex_);
    sources_.push_back(source);
    if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, kPollInterval, [this] { return stop_; })) {
      std::vector<std::shared_ptr<PolledSource>> live;
      std::erase_if(sources_, [&](const std::weak_ptr<PolledSource>& weak) {
        std::shared_ptr<PolledSource> source = weak.lock();
        if (!source) return true;
        live.push_back(std::move(source));
        return false;
      });
      lock.unlock();  // reading and parsing a file holds no lock that add() needs
      for (const auto& source : live) source->poll();
      live.clear();  // the last reference to a plugin's source may go here, unlocked
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<std::weak_ptr<PolledSource>> sources_;
  std::thread thread_;
};

Poller& poller() {
  static Poller instance;
  return instance;
}

}  // namespace

KeyStore::KeyStore(std::vector<Key> static_keys, std::vector<Key> file_keys) {
  parts_[kStatic] = std::move(static_keys);
  parts_[kFile] = std::move(file_keys);
  std::vector<Key> all = parts_[kStatic];
  all.insert(all.end(), parts_[kFile].begin(), parts_[kFile].end());
  current_ = std::make_shared<const KeySet>(KeySet{std::move(all), 0});
}

std::shared_ptr<const KeySet> KeyStore::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

void KeyStore::publish(Part part, std::vector<Key> keys) {
  std::lock_guard lock(mutex_);
  parts_[part] = std::move(keys);
  std::vector<Key> all;
  for (const std::vector<Key>& p : parts_) all.insert(all.end(), p.begin(), p.end());
  uint64_t next = version_.load(std::memory_order_relaxed) + 1;
  current_ = std::make_shared<const KeySet>(KeySet{std::move(all), next});
  version_.store(next, std::memory_order_release);
}

JwksFile::JwksFile(std::string path, FileStamp stamp, std::shared_ptr<KeyStore> store)
    : path_(std::move(path)), stamp_(stamp), store_(std::move(store)) {}

bool JwksFile::refresh() {
  FileStamp now;
  bool readable = stamp_file(path_, now);
  if (readable && now == stamp_) return false;
  std::string error = "cannot read the file";
  std::optional<std::vector<Key>> keys;
  if (readable) {
    std::ifstream in(path_, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (in) keys = keys_from_jwks(text.str(), error);
  }
  if (!readable) {
    // A missing file is one failure, not one per second: remember it as a stamp of zeros.
    if (stamp_ == FileStamp{}) return false;
    now = FileStamp{};
  }
  stamp_ = now;
  if (!keys) {
    store_->refresh_failures.fetch_add(1, std::memory_order_relaxed);
    observe::log_warn("jwks_file not reloaded, the last good keys stay",
                      {{"file", path_}, {"error", error}});
    return false;
  }
  store_->publish(KeyStore::kFile, std::move(*keys));
  observe::log_info("jwks_file reloaded", {{"file", path_}});
  return true;
}

void watch(const std::shared_ptr<PolledSource>& source) { poller().add(source); }

}  // namespace turnpike::plugins::jwt
