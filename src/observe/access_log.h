// The access log (SPEC §8): one JSON line per request. A worker appends its line to its own ring
// (single producer, single consumer: plain loads and stores, no lock); a background thread writes
// the rings to the target. When the target is slower than traffic, a full ring drops the line
// and counts it (turnpike_log_dropped_total) rather than stall the request.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace turnpike::observe {

class LogRing {
 public:
  explicit LogRing(std::size_t capacity_pow2);
  // Producer (the worker): the whole line or nothing; false (and counted) when full.
  bool append(std::string_view line);
  // Consumer (the writer): the readable bytes as at most two spans; then consume(n).
  std::size_t readable(const char*& first, std::size_t& first_length, const char*& second,
                       std::size_t& second_length) const;
  void consume(std::size_t n);
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<char[]> data_;
  std::size_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the consumer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> dropped_{0};
};

// One request's log fields; views stay valid only during write_access_line().
struct AccessRecord {
  std::string_view request_id, trace_id, span_id, client_ip, method, host, path, route, upstream,
      target, consumer, user_agent, error;
  uint16_t status = 0;
  uint64_t bytes_in = 0, bytes_out = 0;
  double duration_ms = 0;
  double upstream_ms = -1;  // < 0: no upstream
};

// The most bytes format_access_line can write for `r`.
std::size_t access_line_bound(const AccessRecord& r);
// Writes the JSON line (with '\n') for `r` into `out`, which has access_line_bound(r) bytes;
// returns its length. Empty views become null.
std::size_t format_access_line(char* out, const AccessRecord& r);
// The same, appended to a string.
void format_access_line(std::string& out, const AccessRecord& r);

class AccessLog {
 public:
  // `path`: stdout | stderr | off | a file. One ring per worker.
  AccessLog(int workers, std::size_t ring_bytes = 4 << 20);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Control thread: switches the target (start-up, reload). Empty string on success.
  std::string set_target(const std::string& path);
  // Control thread (SIGUSR1): reopens a file target, for log rotation.
  void reopen();
  // Worker: false when the log is off (skip formatting).
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  LogRing& ring(int worker) { return *rings_[worker]; }
  uint64_t dropped() const;
  // Writes what is buffered and stops the writer thread.
  void stop();

 private:
  void run();
  void flush_once();
  std::string open_target(const std::string& path, int& fd);

  std::vector<std::unique_ptr<LogRing>> rings_;
  std::atomic<bool> enabled_{false};
  std::mutex mutex_;  // guards the hand-over fields below
  std::condition_variable wake_;
  // The writer thread alone uses and closes the current target; the control thread hands it a
  // new one (opened there, so that errors are reported to the reload) through these.
  std::string path_;  // the target asked for last
  bool switch_pending_ = false;
  int next_fd_ = -1;
  std::string next_path_;
  bool reopen_ = false;
  bool stopping_ = false;
  // Writer-side state.
  int fd_ = -1;
  std::string fd_path_;
  std::thread writer_;
};

}  // namespace turnpike::observe
