// OTLP/HTTP JSON trace export (optional: `tracing.otlp`). Workers put finished spans into their
// own bounded queue (single producer, single consumer); an exporter thread batches them and
// POSTs them to the collector. A full queue or a failed export drops spans and counts them
// (turnpike_trace_spans_dropped_total); nothing ever waits for the collector on a worker.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace turnpike::observe {

struct SpanRecord {
  std::array<char, 32> trace_id{};
  std::array<char, 16> span_id{};
  std::array<char, 16> parent_id{};
  bool has_parent = false;
  uint8_t kind = 2;  // OTLP SpanKind: 2 server, 3 client
  uint64_t start_ns = 0;  // unix epoch nanoseconds
  uint64_t end_ns = 0;
  uint16_t status = 0;
  bool error = false;
  std::string name;
  std::string method, route, path, target, upstream;
  std::string consumer;  // the authenticated consumer's name; empty: anonymous
};

// Fixed slots reused forever: their strings keep their capacity, so a busy worker does not
// allocate per span once warm.
class SpanQueue {
 public:
  explicit SpanQueue(std::size_t capacity_pow2);
  // Producer: a free slot to fill, or null when full (the caller counts a drop).
  SpanRecord* claim();
  void publish();
  // Consumer.
  SpanRecord* front();
  void pop();
  void count_drop() { dropped_.store(dropped_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  std::vector<SpanRecord> slots_;
  std::size_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) std::atomic<uint64_t> dropped_{0};
};

struct OtlpSettings {
  std::string endpoint;  // http://host:port/path
  double sample_ratio = 1.0;
  std::string service_name = "turnpike";
};

class OtlpExporter {
 public:
  explicit OtlpExporter(int workers, std::size_t queue_slots = 4096);
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // Control thread: start, change or stop exporting (nullopt: tracing off).
  void configure(std::optional<OtlpSettings> settings);
  // Workers: whether spans are wanted at all, and the ratio for new traces.
  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  double sample_ratio() const { return ratio_.load(std::memory_order_relaxed); }
  SpanQueue& queue(int worker) { return *queues_[worker]; }
  uint64_t dropped() const;
  void stop();

 private:
  void run();
  void export_batch(std::vector<SpanRecord>& batch, const OtlpSettings& settings);

  std::vector<std::unique_ptr<SpanQueue>> queues_;
  std::atomic<bool> enabled_{false};
  std::atomic<double> ratio_{1.0};
  std::atomic<uint64_t> failed_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<OtlpSettings> settings_;
  bool stopping_ = false;
  std::thread thread_;
};

// One blocking HTTP/1.1 POST with a deadline for the whole exchange (exporter thread only).
// Returns the status code, or 0 on a network error.
int http_post(const std::string& url, const std::string& content_type, const std::string& body,
              int timeout_ms);

}  // namespace turnpike::observe
