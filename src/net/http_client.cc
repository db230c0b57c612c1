// HttpClient (see http_client.h): one thread drives a libcurl multi handle. New transfers and
// cancellations arrive through a mutex-guarded queue and curl_multi_wakeup(); the thread sleeps
// in curl_multi_poll() between events (at most a second, so shutdown is prompt).
#include "net/http_client.h"

#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <future>

namespace turnpike::net {

struct FetchTransfer {
  uint64_t id = 0;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  FetchRequest request;
  FetchResponse response;
  HttpClient::Done done;
  bool too_large = false;
  bool stopped = false;
  char error[CURL_ERROR_SIZE] = {};
};

namespace {

// libcurl's callbacks reach their transfer through the user pointer.
std::size_t body_sink(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<FetchTransfer*>(user);
  std::size_t n = size * count;
  std::string_view piece(data, n);
  if (t.request.on_data) {
    if (t.request.on_data(piece)) return n;
    t.stopped = true;
    return 0;  // ends the transfer (CURLE_WRITE_ERROR)
  }
  if (t.response.body.size() + n > t.request.max_body) {
    t.too_large = true;
    return 0;
  }
  t.response.body.append(piece);
  return n;
}

std::size_t header_sink(char* data, std::size_t size, std::size_t count, void* user) {
  auto& t = *static_cast<FetchTransfer*>(user);
  std::size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.starts_with("HTTP/")) {  // a new response: a redirect's or a 100's came before
    t.response.headers.clear();
    t.response.body.clear();
    return n;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  t.response.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

void setup(FetchTransfer& t) {
  const FetchRequest& r = t.request;
  CURL* e = t.easy;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &t);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(r.connect_timeout.count()));
  curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "turnpike");
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t.error);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, body_sink);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_sink);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &t);
  if (!r.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, r.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, r.verify ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, r.verify ? 2L : 0L);
  for (const std::string& h : r.headers) t.headers = curl_slist_append(t.headers, h.c_str());
  if (t.headers) curl_easy_setopt(e, CURLOPT_HTTPHEADER, t.headers);
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT") {
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r.body.data());  // lives in the transfer
  }
  if (r.method != "GET" && r.method != "POST") {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }
  if (r.method == "HEAD") curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
}

void release(FetchTransfer* t) {
  curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  delete t;
}

}  // namespace

std::string_view FetchResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n.size() == name.size() && strncasecmp(n.data(), name.data(), n.size()) == 0) return v;
  }
  return {};
}

std::string FetchResponse::describe() const {
  if (!error.empty()) return error;
  return "HTTP " + std::to_string(status);
}

HttpClient::HttpClient() {
  static std::once_flag global;
  std::call_once(global, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  thread_ = std::thread([this] { run(); });
}

HttpClient::~HttpClient() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  thread_.join();
  for (FetchTransfer* t : running_) {
    curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
    release(t);
  }
  curl_multi_cleanup(static_cast<CURLM*>(multi_));
}

HttpClient& HttpClient::shared() {
  static HttpClient client;
  return client;
}

uint64_t HttpClient::start(FetchRequest request, Done done) {
  uint64_t id;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    incoming_.emplace_back(std::move(request), std::make_pair(id, std::move(done)));
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
  return id;
}

void HttpClient::cancel(uint64_t id) {
  {
    std::lock_guard lock(mutex_);
    cancels_.push_back(id);
  }
  curl_multi_wakeup(static_cast<CURLM*>(multi_));
}

FetchResponse HttpClient::fetch(FetchRequest request) {
  auto promise = std::make_shared<std::promise<FetchResponse>>();
  std::future<FetchResponse> future = promise->get_future();
  auto limit = request.timeout + std::chrono::seconds(1);
  start(std::move(request), [promise](FetchResponse r) { promise->set_value(std::move(r)); });
  if (future.wait_for(limit) != std::future_status::ready) {
    FetchResponse late;
    late.error = "no answer within the timeout";
    return late;
  }
  return future.get();
}

void HttpClient::add(FetchTransfer* t) {
  t->easy = curl_easy_init();
  setup(*t);
  running_.push_back(t);
  curl_multi_add_handle(static_cast<CURLM*>(multi_), t->easy);
}

void HttpClient::finish(FetchTransfer* t, int code) {
  curl_multi_remove_handle(static_cast<CURLM*>(multi_), t->easy);
  running_.erase(std::find(running_.begin(), running_.end(), t));
  long status = 0;
  curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
  t->response.status = status;
  if (t->too_large) {
    t->response.error = "response larger than " + std::to_string(t->request.max_body) + " bytes";
  } else if (t->stopped) {
    t->response.error = "stopped";
  } else if (code == -1) {
    t->response.error = "cancelled";
  } else if (code != CURLE_OK) {
    t->response.error = t->error[0] ? t->error : curl_easy_strerror(static_cast<CURLcode>(code));
  }
  if (t->done) t->done(std::move(t->response));
  release(t);
}

void HttpClient::run() {
  auto* multi = static_cast<CURLM*>(multi_);
  for (;;) {
    std::deque<std::pair<FetchRequest, std::pair<uint64_t, Done>>> incoming;
    std::vector<uint64_t> cancels;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      incoming.swap(incoming_);
      cancels.swap(cancels_);
    }
    for (auto& [request, rest] : incoming) {
      auto* t = new FetchTransfer;
      t->id = rest.first;
      t->request = std::move(request);
      t->done = std::move(rest.second);
      add(t);
    }
    for (uint64_t id : cancels) {
      auto it = std::find_if(running_.begin(), running_.end(),
                             [id](const FetchTransfer* t) { return t->id == id; });
      if (it != running_.end()) finish(*it, -1);
    }
    int still_running = 0;
    curl_multi_perform(multi, &still_running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      FetchTransfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      finish(t, msg->data.result);
    }
    curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
  }
}

}  // namespace turnpike::net
