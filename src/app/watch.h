// Watches the configuration file's directory (and those of the files it names) with inotify, so that an editor's save, an atomic
// rename or a Kubernetes ConfigMap symlink swap are all seen, and calls back once the changes
// have settled (debounced).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "net/loop.h"
#include "net/socket.h"
#include "net/task.h"
#include "net/timers.h"

namespace turnpike::app {

class FileWatch {
 public:
  explicit FileWatch(std::string file);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Starts recording changes; call it before the file is first read, so that a change made
  // while the gateway starts is not missed. Empty string on success, otherwise why not.
  std::string arm();
  // Also watches `file`'s directory (a certificate the configuration names); after arm().
  // Empty string on success, otherwise why not.
  std::string add(const std::string& file);
  // Delivers the changes: `on_change` runs on `loop`'s thread, `settle` after the last event of
  // a burst (including those recorded since arm()).
  void start(net::Loop& loop, net::Duration settle, std::function<void()> on_change);
  // Stops delivering; the watch's descriptor is closed while its loop still exists.
  void stop();

 private:
  net::Task<void> read_events();
  static void settled(void* self);

  std::string file_;
  int fd_ = -1;
  net::Loop* loop_ = nullptr;
  net::Duration settle_{0};
  std::function<void()> on_change_;
  std::unique_ptr<net::Socket> inotify_;
  net::Deadline debounce_;
  bool stopped_ = false;
};

}  // namespace turnpike::app
