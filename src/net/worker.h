// A worker: one thread running one event loop, with its own buffer pool. Nothing in a worker is
// shared with another worker; other threads talk to it only through post().
#pragma once

#include <functional>
#include <thread>

#include "net/buffer.h"
#include "net/loop.h"

namespace turnpike::net {

class Worker {
 public:
  explicit Worker(int index, std::size_t buffer_size = 16 * 1024);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  int index() const { return index_; }
  Loop& loop() { return loop_; }
  Timers& timers() { return loop_.timers(); }
  BufferPool& buffers() { return buffers_; }

  // Runs `fn` on this worker's thread (safe from any thread).
  void post(std::function<void()> fn) { loop_.post(std::move(fn)); }
  // Starts the thread; `on_start` runs first, on it.
  void start(std::function<void()> on_start);
  void stop() { loop_.stop(); }
  void join();

 private:
  int index_;
  Loop loop_;
  BufferPool buffers_;
  std::thread thread_;
};

}  // namespace turnpike::net
