// Access log rings, line format and writer thread (see access_log.h).
#include "observe/access_log.h"

#include "text/json_string.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

namespace turnpike::observe {

LogRing::LogRing(std::size_t capacity_pow2)
    : data_(new char[capacity_pow2]), mask_(capacity_pow2 - 1) {}

bool LogRing::append(std::string_view line) {
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  uint64_t head = head_.load(std::memory_order_acquire);
  std::size_t capacity = mask_ + 1;
  if (line.size() > capacity - (tail - head)) {
    dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    return false;
  }
  std::size_t at = tail & mask_;
  std::size_t first = std::min(line.size(), capacity - at);
  std::memcpy(data_.get() + at, line.data(), first);
  std::memcpy(data_.get(), line.data() + first, line.size() - first);
  tail_.store(tail + line.size(), std::memory_order_release);
  return true;
}

std::size_t LogRing::readable(const char*& first, std::size_t& first_length, const char*& second,
                              std::size_t& second_length) const {
  uint64_t head = head_.load(std::memory_order_relaxed);
  uint64_t tail = tail_.load(std::memory_order_acquire);
  std::size_t n = tail - head;
  std::size_t at = head & mask_;
  first = data_.get() + at;
  first_length = std::min(n, mask_ + 1 - at);
  second = data_.get();
  second_length = n - first_length;
  return n;
}

void LogRing::consume(std::size_t n) {
  head_.store(head_.load(std::memory_order_relaxed) + n, std::memory_order_release);
}

namespace {

void append_string(std::string& out, std::string_view key, std::string_view value, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out += key;
  out += "\":";
  if (value.empty()) {
    out += "null";
    return;
  }
  out += '"';
  text::append_json_escaped(out, value);
  out += '"';
}

void append_number(std::string& out, std::string_view key, uint64_t value) {
  out += ",\"";
  out += key;
  out += "\":";
  char text[24];
  int n = std::snprintf(text, sizeof(text), "%llu", static_cast<unsigned long long>(value));
  out.append(text, n);
}

void append_ms(std::string& out, std::string_view key, double ms) {
  out += ",\"";
  out += key;
  out += "\":";
  if (ms < 0) {
    out += "null";
    return;
  }
  char text[32];
  int n = std::snprintf(text, sizeof(text), "%.3f", ms);
  out.append(text, n);
}

// RFC 3339 UTC with milliseconds; the seconds part is formatted once a second per thread.
void append_time(std::string& out) {
  thread_local std::time_t cached = 0;
  thread_local char prefix[32];
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  if (seconds != cached) {
    std::tm tm;
    gmtime_r(&seconds, &tm);
    std::strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
    cached = seconds;
  }
  char text[48];
  int n = std::snprintf(text, sizeof(text), "{\"time\":\"%s.%03dZ\"", prefix,
                        static_cast<int>(ms % 1000));
  out.append(text, n);
}

}  // namespace

void format_access_line(std::string& out, const AccessRecord& r) {
  append_time(out);
  append_string(out, "request_id", r.request_id);
  append_string(out, "trace_id", r.trace_id);
  append_string(out, "span_id", r.span_id);
  append_string(out, "client_ip", r.client_ip);
  append_string(out, "method", r.method);
  append_string(out, "host", r.host);
  append_string(out, "path", r.path);
  append_string(out, "route", r.route);
  append_string(out, "upstream", r.upstream);
  append_string(out, "target", r.target);
  append_number(out, "status", r.status);
  append_number(out, "bytes_in", r.bytes_in);
  append_number(out, "bytes_out", r.bytes_out);
  append_ms(out, "duration_ms", r.duration_ms);
  append_ms(out, "upstream_ms", r.upstream_ms);
  append_string(out, "consumer", r.consumer);
  append_string(out, "user_agent", r.user_agent);
  append_string(out, "error", r.error);
  out += "}\n";
}

AccessLog::AccessLog(int workers, std::size_t ring_bytes) {
  for (int i = 0; i < workers; ++i) rings_.push_back(std::make_unique<LogRing>(ring_bytes));
  writer_ = std::thread([this] { run(); });
}

AccessLog::~AccessLog() { stop(); }

std::string AccessLog::open_target(const std::string& path, int& fd) {
  if (path == "stdout") {
    fd = STDOUT_FILENO;
  } else if (path == "stderr") {
    fd = STDERR_FILENO;
  } else if (path == "off") {
    fd = -1;
  } else {
    fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot open access log " + path + ": " + std::strerror(errno);
  }
  return {};
}

std::string AccessLog::set_target(const std::string& path) {
  {
    std::lock_guard lock(mutex_);
    if (path == path_) return {};  // unchanged: keep writing where we write
  }
  int fd = -1;
  std::string error = open_target(path, fd);
  if (!error.empty()) return error;
  std::lock_guard lock(mutex_);
  if (switch_pending_ && next_fd_ > STDERR_FILENO) ::close(next_fd_);
  next_fd_ = fd;
  next_path_ = path;
  path_ = path;
  switch_pending_ = true;
  enabled_.store(fd >= 0, std::memory_order_relaxed);
  wake_.notify_one();
  return {};
}

void AccessLog::reopen() {
  std::lock_guard lock(mutex_);
  reopen_ = true;
  wake_.notify_one();
}

uint64_t AccessLog::dropped() const {
  uint64_t total = 0;
  for (const auto& ring : rings_) total += ring->dropped();
  return total;
}

namespace {

// Writes what a ring holds to `fd` (nothing when fd < 0: the log is off) and consumes it.
void drain_ring(LogRing& ring, int fd) {
  const char *first, *second;
  std::size_t first_length, second_length;
  std::size_t n = ring.readable(first, first_length, second, second_length);
  if (n == 0) return;
  if (fd >= 0) {
    iovec iov[2] = {{const_cast<char*>(first), first_length},
                    {const_cast<char*>(second), second_length}};
    int count = second_length ? 2 : 1;
    std::size_t written = 0;
    while (written < n) {
      ssize_t w = ::writev(fd, iov, count);
      if (w < 0) {
        if (errno == EINTR) continue;
        break;  // the target failed: these lines are lost, the next batch tries again
      }
      written += static_cast<std::size_t>(w);
      std::size_t skip = static_cast<std::size_t>(w);
      while (count > 0 && skip >= iov[0].iov_len) {
        skip -= iov[0].iov_len;
        iov[0] = iov[1];
        --count;
      }
      if (count > 0) {
        iov[0].iov_base = static_cast<char*>(iov[0].iov_base) + skip;
        iov[0].iov_len -= skip;
      }
    }
  }
  ring.consume(n);
}

}  // namespace

void AccessLog::flush_once() {
  bool switching, reopening;
  int next_fd;
  std::string next_path;
  {
    std::lock_guard lock(mutex_);
    switching = std::exchange(switch_pending_, false);
    reopening = std::exchange(reopen_, false);
    next_fd = next_fd_;
    next_path = next_path_;
    next_fd_ = -1;
  }
  if (switching) {
    // Lines queued before the switch still go to the old target (or, when the log was off, to
    // the new one: they were only written because the new target enabled it); then the old
    // target is closed here, by the only thread that writes to it.
    for (auto& ring : rings_) drain_ring(*ring, fd_ >= 0 ? fd_ : next_fd);
    if (fd_ > STDERR_FILENO) ::close(fd_);
    fd_ = next_fd;
    fd_path_ = next_path;
  }
  if (reopening && fd_ > STDERR_FILENO) {
    int fresh = -1;
    if (open_target(fd_path_, fresh).empty()) {
      ::close(fd_);
      fd_ = fresh;
    }
  }
  for (auto& ring : rings_) drain_ring(*ring, fd_);
}

void AccessLog::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(20));
    lock.unlock();
    flush_once();
    lock.lock();
  }
}

void AccessLog::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    wake_.notify_one();
  }
  if (writer_.joinable()) writer_.join();
  flush_once();
  if (fd_ > STDERR_FILENO) ::close(fd_);
  fd_ = -1;
}

}  // namespace turnpike::observe
