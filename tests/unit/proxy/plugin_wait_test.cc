// A plugin's wait() inside a real exchange: an Engine on a Loop in this thread serves one client
// connection (a socketpair) on a snapshot whose route carries a test plugin that waits on a
// Completion. The wait ends three ways: its result arrives (the request goes on), the route's
// deadline passes (504, the wait aborted), the client hangs up (no answer, the wait aborted).
// Either way the plugin's frame is gone when the connection ends, and a cancelled request never
// opened or pooled an upstream connection.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/loader.h"
#include "net/cancel.h"
#include "net/completion.h"
#include "net/socket.h"
#include "net/task.h"
#include "net/worker.h"
#include "observe/access_log.h"
#include "observe/otlp.h"
#include "plugins/plugin.h"
#include "proxy/engine.h"
#include "proxy/http1_connection.h"
#include "proxy/snapshot.h"

namespace turnpike::proxy {
namespace {

using std::chrono::milliseconds;

// Waits for a result that the test delivers (or never delivers), registered with the exchange's
// cancellation as every plugin wait must be.
class WaitingPlugin final : public plugins::Plugin {
 public:
  mutable int started = 0;
  mutable int live = 0;        // wait() frames alive
  mutable int aborted = 0;     // waits that ended without a result
  mutable net::Completion<bool>* pending = nullptr;

  plugins::Verdict on_request(plugins::Context&) const override {
    return plugins::Verdict::wait();
  }

  net::Task<plugins::Verdict> wait(plugins::Context& c) const override {
    struct Alive {
      int& n;
      explicit Alive(int& count) : n(count) { ++n; }
      ~Alive() { --n; }
    } alive(live);
    ++started;
    net::Completion<bool> result(*c.loop);
    net::Watch watch(*c.cancel, result);
    pending = &result;
    std::optional<bool> allowed = co_await result.wait();
    pending = nullptr;
    if (!allowed) {
      ++aborted;
      co_return plugins::Verdict::refuse(http::Error::kBadRequest, "wait aborted");
    }
    co_return *allowed ? plugins::Verdict::next()
                       : plugins::Verdict::refuse(http::Error::kForbidden, "denied after wait");
  }
};

// An address that accepts connections (the kernel completes them) but that nobody serves: the
// test counts what reached it.
class SilentUpstream {
 public:
  SilentUpstream() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentUpstream() { ::close(fd_); }
  int port() const { return port_; }
  int connections() {
    int n = 0;
    for (int c; (c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++n) ::close(c);
    return n;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class PluginWaitTest : public testing::Test {
 public:  // the tests' client lambdas reach in through a reference
  void SetUp() override {
    std::string yaml =
        "server:\n"
        "  listeners: [{name: public, address: \"127.0.0.1:1\"}]\n"
        "upstreams:\n"
        "  svc: {targets: [\"127.0.0.1:" + std::to_string(upstream.port()) + "\"]}\n"
        "routes:\n"
        "  - {name: waits, paths: [\"/w/**\"], upstream: svc, timeout: 200ms}\n"
        "  - {name: local, paths: [\"/e/**\"], upstream: \"builtin:echo\"}\n";
    config::LoadResult loaded = config::load_string(yaml);
    ASSERT_TRUE(loaded.config) << config::format_errors(loaded.errors);
    std::vector<config::ConfigError> errors;
    auto built = build_snapshot(std::make_shared<const config::Config>(std::move(*loaded.config)),
                                1, 1, nullptr, errors);
    ASSERT_TRUE(built) << config::format_errors(errors);
    // The test's plugin joins both compiled routes before the snapshot is published.
    auto snapshot = std::const_pointer_cast<Snapshot>(built);
    for (RouteRuntime& route : snapshot->routes) route.plugins.request.push_back(&plugin);
    shared.access_log = &access_log;
    shared.tracer = &tracer;
    shared.snapshots.publish(snapshot);
    engine = std::make_unique<Engine>(worker, shared);
  }

  void TearDown() override {
    if (peer_fd >= 0) ::close(peer_fd);
    engine.reset();
    access_log.stop();
    tracer.stop();
  }

  net::Loop& loop() { return worker.loop(); }

  // Serves one connection whose client sends `request`, then runs `client` (delivers a result,
  // hangs up); returns when the gateway side has ended the connection. What the gateway wrote
  // stays readable on peer_fd.
  template <typename Client>
  void run_connection(const std::string& request, Client client) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    peer_fd = fds[1];
    ASSERT_EQ(::write(peer_fd, request.data(), request.size()),
              static_cast<ssize_t>(request.size()));
    net::Address peer;
    peer.length = sizeof(sockaddr_in);
    peer.storage.v4.sin_family = AF_INET;
    peer.storage.v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool served = false;
    net::spawn(serve_then_stop(fds[0], peer, served));
    net::spawn(client(*this));
    net::Deadline watchdog(this, [](void* self) {
      static_cast<PluginWaitTest*>(self)->watchdog_fired = true;
      static_cast<PluginWaitTest*>(self)->loop().stop();
    });
    loop().timers().arm(watchdog, milliseconds(3000));
    loop().run();
    loop().timers().disarm(watchdog);
    EXPECT_FALSE(watchdog_fired) << "the connection was still open after 3 s";
    EXPECT_TRUE(served);
  }

  net::Task<void> serve_then_stop(int fd, net::Address peer, bool& served) {
    co_await serve(*engine, fd, peer, listener_name);
    served = true;
    loop().stop();
  }

  // Everything the gateway writes until it closes the connection.
  std::string read_all() {
    std::string out;
    char buffer[4096];
    for (ssize_t n; (n = ::read(peer_fd, buffer, sizeof(buffer))) > 0;) out.append(buffer, n);
    return out;
  }

  SilentUpstream upstream;
  WaitingPlugin plugin;
  net::Worker worker{0};
  observe::AccessLog access_log{1};
  observe::OtlpExporter tracer{1};
  Shared shared;
  std::unique_ptr<Engine> engine;
  std::string listener_name = "public";
  int peer_fd = -1;
  bool watchdog_fired = false;
};

// The test's client side: sleeps, then does `then` (on the loop's thread).
template <typename Fn>
net::Task<void> after(net::Loop& loop, milliseconds delay, Fn then) {
  co_await net::sleep(loop, delay);
  then();
}

TEST_F(PluginWaitTest, AResultLetsTheRequestGoOn) {
  std::string response;
  run_connection("GET /e/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                 [&](PluginWaitTest& t) {
                   return after(t.loop(), milliseconds(20), [&t] {
                     ASSERT_NE(t.plugin.pending, nullptr);
                     t.plugin.pending->complete(true);
                   });
                 });
  response = read_all();
  EXPECT_EQ(response.rfind("HTTP/1.1 200 ", 0), 0u) << response;
  EXPECT_EQ(plugin.started, 1);
  EXPECT_EQ(plugin.aborted, 0);
  EXPECT_EQ(plugin.live, 0);
}

TEST_F(PluginWaitTest, TheRouteDeadlineEndsTheWaitWith504) {
  auto start = std::chrono::steady_clock::now();
  run_connection("GET /w/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                 [](PluginWaitTest& t) {
                   return after(t.loop(), milliseconds(1), [] {});  // never delivers
                 });
  auto took = std::chrono::steady_clock::now() - start;
  std::string response = read_all();
  EXPECT_EQ(response.rfind("HTTP/1.1 504 ", 0), 0u) << response;
  EXPECT_NE(response.find("gateway_timeout"), std::string::npos) << response;
  EXPECT_GE(took, milliseconds(190));
  EXPECT_EQ(plugin.started, 1);
  EXPECT_EQ(plugin.aborted, 1);
  EXPECT_EQ(plugin.live, 0);       // the wait's frame is gone
  EXPECT_EQ(plugin.pending, nullptr);
  EXPECT_EQ(upstream.connections(), 0);  // nothing was sent upstream
  uint32_t target = engine->pin()->groups.at("svc")->targets()[0].pool_id;
  EXPECT_EQ(engine->upstream_pool().idle(target), 0u);
}

TEST_F(PluginWaitTest, TheClientLeavingEndsTheWaitWithoutAnAnswer) {
  auto start = std::chrono::steady_clock::now();
  run_connection("GET /w/x HTTP/1.1\r\nHost: a\r\n\r\n", [](PluginWaitTest& t) {
    return after(t.loop(), milliseconds(30), [&t] {
      ASSERT_NE(t.plugin.pending, nullptr);  // waiting when the client goes
      ::shutdown(t.peer_fd, SHUT_RDWR);
    });
  });
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, milliseconds(180));  // ended by the hang-up, not by the route's 200ms
  EXPECT_EQ(read_all(), "");
  EXPECT_EQ(plugin.started, 1);
  EXPECT_EQ(plugin.aborted, 1);
  EXPECT_EQ(plugin.live, 0);
  EXPECT_EQ(upstream.connections(), 0);
  uint32_t target = engine->pin()->groups.at("svc")->targets()[0].pool_id;
  EXPECT_EQ(engine->upstream_pool().idle(target), 0u);
}

}  // namespace
}  // namespace turnpike::proxy
