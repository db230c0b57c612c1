// OTLP/HTTP JSON export (see otlp.h).
#include "observe/otlp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

namespace turnpike::observe {

SpanQueue::SpanQueue(std::size_t capacity_pow2) : slots_(capacity_pow2), mask_(capacity_pow2 - 1) {}

SpanRecord* SpanQueue::claim() {
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (tail - head_.load(std::memory_order_acquire) > mask_) return nullptr;
  return &slots_[tail & mask_];
}

void SpanQueue::publish() {
  tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

SpanRecord* SpanQueue::front() {
  uint64_t head = head_.load(std::memory_order_relaxed);
  if (head == tail_.load(std::memory_order_acquire)) return nullptr;
  return &slots_[head & mask_];
}

void SpanQueue::pop() {
  head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
}

OtlpExporter::OtlpExporter(int workers, std::size_t queue_slots) {
  for (int i = 0; i < workers; ++i) queues_.push_back(std::make_unique<SpanQueue>(queue_slots));
  thread_ = std::thread([this] { run(); });
}

OtlpExporter::~OtlpExporter() { stop(); }

void OtlpExporter::configure(std::optional<OtlpSettings> settings) {
  std::lock_guard lock(mutex_);
  enabled_.store(settings.has_value(), std::memory_order_relaxed);
  if (settings) ratio_.store(settings->sample_ratio, std::memory_order_relaxed);
  settings_ = std::move(settings);
  wake_.notify_one();
}

uint64_t OtlpExporter::dropped() const {
  uint64_t total = failed_.load(std::memory_order_relaxed);
  for (const auto& q : queues_) total += q->dropped();
  return total;
}

void OtlpExporter::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    wake_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void OtlpExporter::run() {
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);  // behind the workers
  constexpr std::size_t kBatch = 512;
  std::vector<SpanRecord> batch;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::milliseconds(200));
    bool stopping = stopping_;
    std::optional<OtlpSettings> settings = settings_;
    lock.unlock();
    // Drain every queue in batches; spans queued while tracing was turned off are discarded.
    bool more = true;
    while (more) {
      more = false;
      batch.clear();
      for (auto& q : queues_) {
        while (batch.size() < kBatch) {
          SpanRecord* r = q->front();
          if (!r) break;
          batch.push_back(*r);
          q->pop();
        }
        more = more || q->front() != nullptr;
      }
      if (!batch.empty() && settings) export_batch(batch, *settings);
    }
    if (stopping) return;
    lock.lock();
  }
}

void OtlpExporter::export_batch(std::vector<SpanRecord>& batch, const OtlpSettings& settings) {
  using nlohmann::json;
  auto str = [](const std::string& key, const std::string& value) {
    return json{{"key", key}, {"value", {{"stringValue", value}}}};
  };
  json spans = json::array();
  for (const SpanRecord& r : batch) {
    json attributes = json::array({str("http.request.method", r.method)});
    if (!r.route.empty()) attributes.push_back(str("http.route", r.route));
    if (!r.path.empty()) attributes.push_back(str("url.path", r.path));
    if (!r.upstream.empty()) attributes.push_back(str("turnpike.upstream", r.upstream));
    if (!r.target.empty()) attributes.push_back(str("server.address", r.target));
    if (!r.consumer.empty()) attributes.push_back(str("turnpike.consumer", r.consumer));
    attributes.push_back(
        {{"key", "http.response.status_code"}, {"value", {{"intValue", std::to_string(r.status)}}}});
    json span = {
        {"traceId", std::string(r.trace_id.data(), 32)},
        {"spanId", std::string(r.span_id.data(), 16)},
        {"name", r.name},
        {"kind", r.kind},
        {"startTimeUnixNano", std::to_string(r.start_ns)},
        {"endTimeUnixNano", std::to_string(r.end_ns)},
        {"attributes", attributes},
        {"status", {{"code", r.error ? 2 : 0}}},
    };
    if (r.has_parent) span["parentSpanId"] = std::string(r.parent_id.data(), 16);
    spans.push_back(std::move(span));
  }
  json body = {{"resourceSpans",
                json::array({{{"resource", {{"attributes", json::array({str("service.name",
                                                                        settings.service_name)})}}},
                              {"scopeSpans",
                               json::array({{{"scope", {{"name", "turnpike"}}},
                                             {"spans", spans}}})}}})}};
  int status = http_post(settings.endpoint, "application/json", body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 2000);
  if (status < 200 || status >= 300) failed_.fetch_add(batch.size(), std::memory_order_relaxed);
}

namespace {

bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
  if (left <= 0) return false;
  pollfd p{fd, events, 0};
  return ::poll(&p, 1, static_cast<int>(left)) == 1;
}

}  // namespace

int http_post(const std::string& url, const std::string& content_type, const std::string& body,
              int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  if (url.rfind("http://", 0) != 0) return 0;
  std::string rest = url.substr(7);
  std::size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : rest.substr(slash);
  std::string host = authority, port = "80";
  std::size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  } else if (authority.size() > 2 && authority.front() == '[') {
    std::size_t close = authority.find(']');
    host = authority.substr(1, close - 1);
    if (close + 2 < authority.size()) port = authority.substr(close + 2);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &result) != 0 || !result) return 0;
  int fd = ::socket(result->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int rc = fd < 0 ? -1 : ::connect(fd, result->ai_addr, result->ai_addrlen);
  ::freeaddrinfo(result);
  if (fd < 0) return 0;
  auto fail = [&] {
    ::close(fd);
    return 0;
  };
  if (rc != 0 && errno != EINPROGRESS) return fail();
  if (rc != 0) {
    if (!wait_fd(fd, POLLOUT, deadline)) return fail();
    int error = 0;
    socklen_t len = sizeof(error);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) return fail();
  }
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: " + authority +
                        "\r\nContent-Type: " + content_type +
                        "\r\nContent-Length: " + std::to_string(body.size()) +
                        "\r\nConnection: close\r\n\r\n" + body;
  std::size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EAGAIN) {
      if (!wait_fd(fd, POLLOUT, deadline)) return fail();
    } else if (n < 0 && errno != EINTR) {
      return fail();
    }
  }
  // The status line is all we need.
  std::string response;
  char chunk[1024];
  while (response.find("\r\n") == std::string::npos && response.size() < 8192) {
    if (!wait_fd(fd, POLLIN, deadline)) return fail();
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) {
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      break;
    }
    response.append(chunk, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (response.size() < 12 || response.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

}  // namespace turnpike::observe
