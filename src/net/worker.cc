// Worker thread lifecycle (see worker.h).
#include "net/worker.h"

#include <pthread.h>

#include <string>

namespace turnpike::net {

Worker::Worker(int index, std::size_t buffer_size) : index_(index), buffers_(buffer_size) {}

Worker::~Worker() {
  stop();
  join();
}

void Worker::start(std::function<void()> on_start) {
  thread_ = std::thread([this, on_start = std::move(on_start)] {
    std::string name = "worker-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    if (on_start) on_start();
    loop_.run();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace turnpike::net
