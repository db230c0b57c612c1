// inotify-based configuration file watching (see watch.h).
#include "app/watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace turnpike::app {

FileWatch::FileWatch(std::string file) : file_(std::move(file)), debounce_(this, &settled) {}

FileWatch::~FileWatch() { stop(); }

namespace {

std::string directory_of(const std::string& file) {
  std::size_t slash = file.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : file.substr(0, slash));
}

// The directory, not the file: a rename over the file or a symlink swap replaces the inode we
// would be watching. Watching a directory twice is one watch.
std::string watch_directory(int fd, const std::string& file) {
  std::string dir = directory_of(file);
  uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_ATTRIB;
  if (::inotify_add_watch(fd, dir.c_str(), mask) < 0) {
    return "cannot watch " + dir + ": " + std::strerror(errno);
  }
  return {};
}

}  // namespace

std::string FileWatch::arm() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return std::string("inotify: ") + std::strerror(errno);
  if (std::string why = watch_directory(fd, file_); !why.empty()) {
    ::close(fd);
    return why;
  }
  fd_ = fd;
  return {};
}

std::string FileWatch::add(const std::string& file) {
  if (fd_ < 0) return "not watching";
  return watch_directory(fd_, file);
}

void FileWatch::start(net::Loop& loop, net::Duration settle, std::function<void()> on_change) {
  if (fd_ < 0) return;
  loop_ = &loop;
  settle_ = settle;
  on_change_ = std::move(on_change);
  inotify_ = std::make_unique<net::Socket>(loop, fd_, /*socket=*/false);
  net::spawn(read_events());
}

void FileWatch::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (loop_) loop_->timers().disarm(debounce_);
  inotify_.reset();  // closes it through the loop, which must still exist
  if (fd_ >= 0 && !loop_) ::close(fd_);
  fd_ = -1;
}

net::Task<void> FileWatch::read_events() {
  alignas(inotify_event) char events[4096];
  net::Socket& watch = *inotify_;
  for (;;) {
    net::IoResult r = co_await net::read_some(watch, events, sizeof(events));
    if (!r.ok() || stopped_) break;
    // Any change in the directory may be ours (editors write temp files, Kubernetes swaps a
    // "..data" symlink): the reload compares the file's bytes and ignores no-op changes.
    loop_->timers().arm(debounce_, settle_);
  }
}

void FileWatch::settled(void* self) {
  auto* w = static_cast<FileWatch*>(self);
  if (!w->stopped_) w->on_change_();
}

}  // namespace turnpike::app
