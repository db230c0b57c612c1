// Keys fetched from a URL (`jwks_url`, or the `jwks_uri` of an `oidc_discovery` document) into a
// KeyStore's remote part, off the request path: the background poller starts a refresh when one is
// due (every `jwks_refresh`), the control-plane HTTP client runs it, and its callback publishes.
// A token whose `kid` the set lacks may start one early refresh per `jwks_refresh`; the request
// waits for it on its own loop (join() with a net::Completion), bounded by the route deadline.
// A failed refresh keeps the last good keys; it is logged, counted, and retried sooner.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/completion.h"
#include "net/http_client.h"
#include "net/loop.h"
#include "plugins/jwt/key_store.h"

namespace turnpike::plugins::jwt {

class RemoteJwks final : public PolledSource, public std::enable_shared_from_this<RemoteJwks> {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    std::string jwks_url;       // either this,
    std::string discovery_url;  // or the OpenID configuration document naming it
    std::chrono::milliseconds refresh{std::chrono::minutes(5)};
  };

  // A request waiting for the running refresh: completed on its loop when the refresh ends.
  struct Ticket {
    net::Loop* loop = nullptr;
    net::Completion<bool>* completion = nullptr;  // null once the waiter is gone (loop thread)
  };

  RemoteJwks(Options options, std::shared_ptr<KeyStore> store);

  // The first fetch; call once, after construction (it needs shared_from_this()).
  void start();
  // Poller thread: starts a refresh when one is due.
  void poll() override;

  // A token named a key the set lacks: true when a refresh is running or has just been started
  // for it (wait for it with join()), false when one already ran within `refresh`.
  bool refresh_for_unknown_key();
  // Waits for the running refresh: the ticket is completed on `loop` when it ends. Null when no
  // refresh runs (nothing to wait for). Leave with leave() before `completion` goes away.
  std::shared_ptr<Ticket> join(net::Loop& loop, net::Completion<bool>& completion);
  void leave(const std::shared_ptr<Ticket>& ticket);

  // Completed refreshes: good ones, and failed ones (the last good keys stayed).
  uint64_t successes() const;
  uint64_t failures() const;

 private:
  void begin_locked(Clock::time_point now);  // mutex_ held
  void fetch_keys(const std::string& url);
  void on_discovery(const net::FetchResponse& response);
  void on_keys(const net::FetchResponse& response, const std::string& url);
  void end(bool ok, const std::string& url, const std::string& error);

  const Options options_;
  const std::shared_ptr<KeyStore> store_;
  mutable std::mutex mutex_;
  bool running_ = false;
  Clock::time_point next_due_{};
  Clock::time_point last_early_{};  // the last refresh an unknown kid started
  bool early_used_ = false;
  std::vector<std::shared_ptr<Ticket>> waiters_;
  uint64_t successes_ = 0;
  uint64_t failures_ = 0;
  uint32_t failures_in_a_row_ = 0;
};

// The process's remote key refreshes, for the metrics (turnpike_jwt_key_refreshes_total).
struct RefreshCounts {
  uint64_t success = 0;
  uint64_t failure = 0;
};
RefreshCounts refresh_counts();

}  // namespace turnpike::plugins::jwt
