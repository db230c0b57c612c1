// The control-plane HTTP(S) client: JWKS and OIDC discovery today; etcd, Consul, ACME and OTLP
// are meant to use it too. libcurl's multi interface runs on one background thread for the
// process; a caller hands it a request and is called back on that thread when the transfer ends
// (or, for a streaming response such as an etcd watch, with each piece as it arrives). Never
// used on the request path: a worker that needs a result waits for it through its own loop
// (Loop::post from the callback).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace turnpike::net {

struct FetchRequest {
  std::string method = "GET";
  std::string url;                   // http:// or https:// only; redirects are followed (5)
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when not empty (or when method is POST/PUT)
  std::chrono::milliseconds timeout{10'000};  // the whole transfer
  std::chrono::milliseconds connect_timeout{5'000};
  std::string ca_file;  // trusted CAs (PEM); empty: the system trust store
  bool verify = true;   // peer certificate and name
  std::size_t max_body = 8u << 20;  // a larger body ends the transfer with an error
  // A streaming response: each piece of the body as it arrives (on the client's thread); the
  // body is then not kept. Returning false ends the transfer (error "stopped").
  std::function<bool(std::string_view)> on_data;
};

struct FetchResponse {
  long status = 0;    // the final response's status (after redirects); 0 when none came
  std::string error;  // why the transfer failed (connect, TLS, timeout, too large); empty if not
  std::vector<std::pair<std::string, std::string>> headers;  // the final response's fields
  std::string body;

  bool ok() const { return error.empty() && status >= 200 && status < 300; }
  // The first field with this name (case-insensitive), or empty.
  std::string_view header(std::string_view name) const;
  // For a log line: the error, or "HTTP <status>".
  std::string describe() const;
};

struct FetchTransfer;  // one transfer in flight (http_client.cc)

class HttpClient {
 public:
  using Done = std::function<void(FetchResponse)>;

  HttpClient();
  ~HttpClient();  // ends every transfer without calling back, then joins the thread
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // The process's client (its thread starts on first use).
  static HttpClient& shared();

  // Starts a transfer; `done` is called exactly once, on the client's thread, unless the client
  // is destroyed first. Keep `done` short: hand the result to your own thread or loop.
  uint64_t start(FetchRequest request, Done done);
  // Ends a transfer early; its `done` is called with error "cancelled" (unless it already ran).
  void cancel(uint64_t id);
  // Blocking: for threads that may wait (never a worker). Waits at most the request's timeout.
  FetchResponse fetch(FetchRequest request);

 private:
  void run();
  void add(FetchTransfer* transfer);
  void finish(FetchTransfer* transfer, int curl_code);

  void* multi_ = nullptr;  // CURLM
  std::mutex mutex_;
  std::deque<std::pair<FetchRequest, std::pair<uint64_t, Done>>> incoming_;
  std::vector<uint64_t> cancels_;
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  std::vector<FetchTransfer*> running_;  // client thread only
  std::thread thread_;
};

}  // namespace turnpike::net
