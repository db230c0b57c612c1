// Watches the configuration file's directory with inotify, so that an editor's save, an atomic
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
  // `on_change` runs on `loop`'s thread, `settle` after the last event in a burst.
  FileWatch(net::Loop& loop, std::string file, net::Duration settle, std::function<void()> on_change);
  ~FileWatch();
  FileWatch(const FileWatch&) = delete;
  FileWatch& operator=(const FileWatch&) = delete;

  // Empty string on success, otherwise why watching is not possible.
  std::string start();
  void stop();

 private:
  net::Task<void> read_events();
  static void settled(void* self);

  net::Loop& loop_;
  std::string file_;
  net::Duration settle_;
  std::function<void()> on_change_;
  std::unique_ptr<net::Socket> inotify_;
  net::Deadline debounce_;
  bool stopped_ = false;
};

}  // namespace turnpike::app
