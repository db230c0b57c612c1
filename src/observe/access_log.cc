// Access log rings, line format and writer thread (see access_log.h).
#include "observe/access_log.h"

#include "text/json_string.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
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

// The line is written with a cursor into a buffer sized in advance (access_line_bound): no
// reallocation and no per-character capacity checks.
struct Writer {
  char* p;
  void raw(std::string_view s) {
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  }
  void key(std::string_view k) {
    *p++ = ',';
    *p++ = '"';
    raw(k);
    *p++ = '"';
    *p++ = ':';
  }
  void string(std::string_view k, std::string_view value) {
    key(k);
    if (value.empty()) {
      raw("null");
      return;
    }
    *p++ = '"';
    p = text::write_json_escaped(p, value);
    *p++ = '"';
  }
  // A value the gateway made itself (hex ids): nothing to escape.
  void token(std::string_view k, std::string_view value) {
    key(k);
    if (value.empty()) {
      raw("null");
      return;
    }
    *p++ = '"';
    raw(value);
    *p++ = '"';
  }
  void number(std::string_view k, uint64_t value) {
    key(k);
    p = std::to_chars(p, p + 24, value).ptr;
  }
  // Milliseconds with three decimals (microsecond resolution), without printf.
  void ms(std::string_view k, double ms) {
    key(k);
    if (ms < 0) {
      raw("null");
      return;
    }
    auto us = static_cast<uint64_t>(ms * 1000 + 0.5);
    p = std::to_chars(p, p + 24, us / 1000).ptr;
    uint64_t frac = us % 1000;
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 100);
    *p++ = static_cast<char>('0' + frac / 10 % 10);
    *p++ = static_cast<char>('0' + frac % 10);
  }
  // RFC 3339 UTC with milliseconds; the seconds part is formatted once a second per thread.
  void time() {
    thread_local std::time_t cached = 0;
    thread_local char prefix[24];
    thread_local std::size_t prefix_length = 0;
    auto now = std::chrono::system_clock::now();
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    if (seconds != cached) {
      std::tm tm;
      gmtime_r(&seconds, &tm);
      prefix_length = std::strftime(prefix, sizeof(prefix), "%Y-%m-%dT%H:%M:%S", &tm);
      cached = seconds;
    }
    int frac = static_cast<int>(ms % 1000);
    raw("{\"time\":\"");
    raw(std::string_view(prefix, prefix_length));
    *p++ = '.';
    *p++ = static_cast<char>('0' + frac / 100);
    *p++ = static_cast<char>('0' + frac / 10 % 10);
    *p++ = static_cast<char>('0' + frac % 10);
    raw("Z\"");
  }
};

}  // namespace

std::size_t access_line_bound(const AccessRecord& r) {
  std::size_t strings = r.request_id.size() + r.trace_id.size() + r.span_id.size() +
                        r.client_ip.size() + r.method.size() + r.host.size() + r.path.size() +
                        r.route.size() + r.upstream.size() + r.target.size() + r.consumer.size() +
                        r.user_agent.size() + r.error.size();
  return text::escaped_bound(strings) + 512;  // keys, numbers, quotes, time
}

std::size_t format_access_line(char* out, const AccessRecord& r) {
  Writer w{out};
  w.time();
  w.string("request_id", r.request_id);
  w.token("trace_id", r.trace_id);
  w.token("span_id", r.span_id);
  w.string("client_ip", r.client_ip);
  w.string("method", r.method);
  w.string("host", r.host);
  w.string("path", r.path);
  w.string("route", r.route);
  w.string("upstream", r.upstream);
  w.string("target", r.target);
  w.number("status", r.status);
  w.number("bytes_in", r.bytes_in);
  w.number("bytes_out", r.bytes_out);
  w.ms("duration_ms", r.duration_ms);
  w.ms("upstream_ms", r.upstream_ms);
  w.string("consumer", r.consumer);
  w.string("user_agent", r.user_agent);
  w.string("error", r.error);
  w.raw("}\n");
  return static_cast<std::size_t>(w.p - out);
}

void format_access_line(std::string& out, const AccessRecord& r) {
  std::size_t at = out.size();
  out.resize(at + access_line_bound(r));
  out.resize(at + format_access_line(out.data() + at, r));
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
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);  // behind the workers
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
