// RemoteJwks (see remote_jwks.h). One refresh at a time per source: discovery (when configured)
// then the JWKS, both through the process's HttpClient; its callbacks run on the client's thread
// and hold the source weakly, so a plugin dropped by a reload is not kept alive by a fetch.
#include "plugins/jwt/remote_jwks.h"

#include <algorithm>
#include <atomic>

#include "observe/log.h"
#include "plugins/jwt/jose.h"

namespace turnpike::plugins::jwt {
namespace {

constexpr auto kFetchTimeout = std::chrono::seconds(10);
constexpr std::size_t kMaxDocument = 1 << 20;  // a JWKS or discovery document
constexpr auto kFirstRetry = std::chrono::seconds(1);

std::atomic<uint64_t> g_success{0};
std::atomic<uint64_t> g_failure{0};

net::FetchRequest request_for(const std::string& url) {
  net::FetchRequest r;
  r.url = url;
  r.headers.push_back("Accept: application/json");
  r.timeout = kFetchTimeout;
  r.max_body = kMaxDocument;
  return r;
}

}  // namespace

RefreshCounts refresh_counts() {
  return {g_success.load(std::memory_order_relaxed), g_failure.load(std::memory_order_relaxed)};
}

RemoteJwks::RemoteJwks(Options options, std::shared_ptr<KeyStore> store)
    : options_(std::move(options)), store_(std::move(store)) {}

void RemoteJwks::start() {
  std::lock_guard lock(mutex_);
  begin_locked(Clock::now());
}

void RemoteJwks::poll() {
  std::lock_guard lock(mutex_);
  Clock::time_point now = Clock::now();
  if (!running_ && now >= next_due_) begin_locked(now);
}

bool RemoteJwks::refresh_for_unknown_key() {
  std::lock_guard lock(mutex_);
  if (running_) return true;
  Clock::time_point now = Clock::now();
  if (early_used_ && now - last_early_ < options_.refresh) return false;
  early_used_ = true;
  last_early_ = now;
  begin_locked(now);
  return true;
}

std::shared_ptr<RemoteJwks::Ticket> RemoteJwks::join(net::Loop& loop,
                                                     net::Completion<bool>& completion) {
  std::lock_guard lock(mutex_);
  if (!running_) return nullptr;
  auto ticket = std::make_shared<Ticket>(Ticket{&loop, &completion});
  waiters_.push_back(ticket);
  return ticket;
}

void RemoteJwks::leave(const std::shared_ptr<Ticket>& ticket) {
  std::lock_guard lock(mutex_);
  ticket->completion = nullptr;  // a completion already posted finds no one
  std::erase(waiters_, ticket);
}

uint64_t RemoteJwks::successes() const {
  std::lock_guard lock(mutex_);
  return successes_;
}

uint64_t RemoteJwks::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

void RemoteJwks::begin_locked(Clock::time_point now) {
  running_ = true;
  next_due_ = now + options_.refresh;
  std::weak_ptr<RemoteJwks> weak = weak_from_this();
  if (!options_.discovery_url.empty()) {
    net::HttpClient::shared().start(request_for(options_.discovery_url),
                                    [weak](net::FetchResponse response) {
                                      if (auto self = weak.lock()) self->on_discovery(response);
                                    });
  } else {
    fetch_keys(options_.jwks_url);
  }
}

void RemoteJwks::fetch_keys(const std::string& url) {
  std::weak_ptr<RemoteJwks> weak = weak_from_this();
  net::HttpClient::shared().start(request_for(url), [weak, url](net::FetchResponse response) {
    if (auto self = weak.lock()) self->on_keys(response, url);
  });
}

void RemoteJwks::on_discovery(const net::FetchResponse& response) {
  const std::string& url = options_.discovery_url;
  if (!response.ok()) return end(false, url, response.describe());
  std::optional<nlohmann::json> doc = parse_strict_json(response.body);
  if (!doc || !doc->is_object()) return end(false, url, "not a JSON object");
  const std::string* jwks_uri = json_string(*doc, "jwks_uri");
  if (!jwks_uri) return end(false, url, "no jwks_uri");
  if (!jwks_uri->starts_with("https://") && !jwks_uri->starts_with("http://")) {
    return end(false, url, "jwks_uri is not an http(s) URL");
  }
  fetch_keys(*jwks_uri);
}

void RemoteJwks::on_keys(const net::FetchResponse& response, const std::string& url) {
  if (!response.ok()) return end(false, url, response.describe());
  std::string error;
  std::vector<std::string> skipped;
  std::optional<std::vector<Key>> keys = keys_from_jwks(response.body, error, &skipped);
  if (!keys) return end(false, url, error);
  for (const std::string& why : skipped) {
    observe::log_warn("jwks key skipped", {{"url", url}, {"reason", why}});
  }
  store_->publish(KeyStore::kRemote, std::move(*keys));
  end(true, url, {});
}

void RemoteJwks::end(bool ok, const std::string& url, const std::string& error) {
  if (ok) {
    g_success.fetch_add(1, std::memory_order_relaxed);
  } else {
    g_failure.fetch_add(1, std::memory_order_relaxed);
    store_->refresh_failures.fetch_add(1, std::memory_order_relaxed);
    observe::log_warn("jwks refresh failed, the last good keys stay",
                      {{"url", url}, {"error", error}});
  }
  std::lock_guard lock(mutex_);
  running_ = false;
  if (ok) {
    ++successes_;
    failures_in_a_row_ = 0;
  } else {
    ++failures_;
    // Sooner than `refresh`, backing off: 1 s, 2 s, 4 s ... up to `refresh`.
    auto wait = std::min<std::chrono::milliseconds>(
        options_.refresh, kFirstRetry * (1u << std::min(failures_in_a_row_, 10u)));
    ++failures_in_a_row_;
    next_due_ = Clock::now() + wait;
  }
  // Wake the requests waiting for this refresh, on their own loops. Posted under the lock: a
  // waiter still listed has its frame, and so its loop, alive.
  for (const std::shared_ptr<Ticket>& ticket : waiters_) {
    ticket->loop->post([ticket] {
      if (ticket->completion) ticket->completion->complete(true);
    });
  }
  waiters_.clear();
}

}  // namespace turnpike::plugins::jwt
