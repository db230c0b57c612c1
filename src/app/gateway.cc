// Gateway lifecycle (see gateway.h). The main thread is the control thread: it owns signals and
// reloads; the workers never wait for it.
#include "app/gateway.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "config/loader.h"
#include "config/plugin_catalog.h"
#include "net/socket.h"
#include "net/worker.h"
#include "observe/access_log.h"
#include "observe/log.h"
#include "observe/otlp.h"
#include "plugins/chain.h"
#include "proxy/engine.h"
#include "proxy/snapshot.h"

namespace turnpike::app {
namespace {

using observe::log_error;
using observe::log_info;
using observe::log_warn;

struct Loaded {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const proxy::Snapshot> snapshot;
  std::vector<config::ConfigError> errors;
};

const config::PluginCatalog& catalog() {
  static const config::PluginCatalog* instance = [] {
    auto* c = new config::PluginCatalog();
    plugins::register_plugins(*c);
    return c;
  }();
  return *instance;
}

Loaded load_and_compile(const std::string& path, int workers, uint64_t generation,
                        const proxy::Snapshot* previous) {
  Loaded out;
  config::LoadOptions options;
  options.plugins = &catalog();
  config::LoadResult loaded = config::load_file(path, options);
  if (!loaded.config) {
    out.errors = std::move(loaded.errors);
    return out;
  }
  out.config = std::make_shared<const config::Config>(std::move(*loaded.config));
  out.snapshot = proxy::build_snapshot(out.config, workers, generation, previous, out.errors);
  return out;
}

int worker_count(const Options& options, const config::Config& config) {
  if (options.workers > 0) return options.workers;
  if (config.server.workers > 0) return config.server.workers;
  unsigned cpus = std::thread::hardware_concurrency();
  return cpus == 0 ? 1 : static_cast<int>(cpus);
}

// Every listener bound once per worker (SO_REUSEPORT). On failure nothing stays bound.
bool bind_listeners(const config::Config& config, int workers,
                    std::vector<std::vector<proxy::ListenerSocket>>& out) {
  out.assign(workers, {});
  for (const config::Listener& listener : config.server.listeners) {
    net::Address address;
    if (!net::make_address(listener.address.host, listener.address.port, address)) {
      log_error("listener address is not an IP address", {{"listener", listener.name}});
      return false;
    }
    for (int w = 0; w < workers; ++w) {
      int fd = -1;
      std::string error = net::listen_on(address, fd);
      if (!error.empty()) {
        log_error(error, {{"listener", listener.name}});
        for (auto& sockets : out) {
          for (auto& s : sockets) ::close(s.fd);
        }
        out.clear();
        return false;
      }
      out[w].push_back({listener.name, fd});
    }
  }
  return true;
}

// Signals arrive through a signalfd read by the control loop, not through handlers.
int block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return ::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

class Gateway {
 public:
  Gateway(Options options, Loaded loaded, int workers)
      : options_(std::move(options)), workers_count_(workers), current_(std::move(loaded)) {}

  int run(std::vector<std::vector<proxy::ListenerSocket>> listeners, int signal_fd) {
    access_log_ = std::make_unique<observe::AccessLog>(workers_count_);
    tracer_ = std::make_unique<observe::OtlpExporter>(workers_count_);
    shared_.access_log = access_log_.get();
    shared_.tracer = tracer_.get();
    if (std::string error = apply_observability(*current_.config); !error.empty()) {
      log_error(error);
      return 1;
    }
    shared_.snapshots.publish(current_.snapshot);
    for (int i = 0; i < workers_count_; ++i) {
      workers_.push_back(std::make_unique<net::Worker>(i));
    }
    for (int i = 0; i < workers_count_; ++i) {
      engines_.push_back(std::make_unique<proxy::Engine>(*workers_[i], shared_));
    }
    for (int i = 0; i < workers_count_; ++i) {
      proxy::Engine* engine = engines_[i].get();
      workers_[i]->start([engine, sockets = std::move(listeners[i])]() mutable {
        engine->start(std::move(sockets));
      });
    }
    log_info("turnpike started", {{"workers", std::to_string(workers_count_)},
                                  {"generation", std::to_string(generation_)}});
    net::spawn(watch_signals(signal_fd));
    control_.run();
    for (auto& w : workers_) w->stop();
    for (auto& w : workers_) w->join();
    engines_.clear();
    workers_.clear();
    access_log_->stop();
    tracer_->stop();
    log_info("turnpike stopped");
    return 0;
  }

 private:
  net::Task<void> watch_signals(int signal_fd) {
    net::Socket signals(control_, signal_fd);
    for (;;) {
      signalfd_siginfo info;
      net::IoResult r = co_await net::read_some(signals, reinterpret_cast<char*>(&info),
                                                sizeof(info));
      if (!r.ok() || r.bytes != sizeof(info)) continue;
      if (info.ssi_signo == SIGHUP) {
        reload("SIGHUP");
      } else if (info.ssi_signo == SIGUSR1) {
        access_log_->reopen();
        log_info("access log reopened");
      } else {
        co_await drain(info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        control_.stop();
        co_return;
      }
    }
  }

  void reload(const char* cause) {
    Loaded next = load_and_compile(options_.config_path, workers_count_, generation_ + 1,
                                   current_.snapshot.get());
    if (!next.snapshot) {
      log_error("configuration rejected; the running one stays",
                {{"cause", cause}, {"errors", config::format_errors(next.errors)}});
      return;
    }
    if (std::string error = apply_observability(*next.config); !error.empty()) {
      log_error("configuration rejected; the running one stays", {{"cause", cause}, {"errors", error}});
      return;
    }
    ++generation_;
    current_ = std::move(next);
    shared_.snapshots.publish(current_.snapshot);
    log_info("configuration applied",
             {{"cause", cause}, {"generation", std::to_string(generation_)}});
  }

  // The log level, access log target and trace export of `config`. Empty string on success.
  std::string apply_observability(const config::Config& config) {
    observe::Level level;
    if (options_.log_level.empty() && observe::parse_level(config.logging.level, level)) {
      observe::set_log_level(level);
    }
    if (std::string error = access_log_->set_target(config.logging.access_log.path); !error.empty()) {
      return "logging.access_log.path: " + error;
    }
    if (config.tracing.otlp) {
      tracer_->configure(observe::OtlpSettings{config.tracing.otlp->endpoint,
                                               config.tracing.otlp->sample_ratio,
                                               config.tracing.otlp->service_name});
    } else {
      tracer_->configure(std::nullopt);
    }
    return {};
  }

  // Stop accepting, let in-flight requests finish (up to drain_timeout), then return.
  net::Task<void> drain(const char* cause) {
    auto timeout = current_.config->server.drain_timeout;
    log_info("draining", {{"signal", cause}, {"timeout_ms", std::to_string(timeout.count())}});
    for (auto& engine : engines_) {
      proxy::Engine* e = engine.get();
      e->worker().post([e] { e->begin_drain(); });
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (shared_.connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      co_await net::sleep(control_, net::Duration(20));
    }
    if (shared_.connections.load() > 0) {
      log_warn("drain timeout: closing remaining connections",
               {{"connections", std::to_string(shared_.connections.load())}});
    }
  }

  Options options_;
  int workers_count_;
  uint64_t generation_ = 1;
  Loaded current_;
  proxy::Shared shared_;
  net::Loop control_;
  std::unique_ptr<observe::AccessLog> access_log_;
  std::unique_ptr<observe::OtlpExporter> tracer_;
  std::vector<std::unique_ptr<net::Worker>> workers_;
  std::vector<std::unique_ptr<proxy::Engine>> engines_;
};

}  // namespace

std::vector<config::ConfigError> validate(const std::string& config_path) {
  return load_and_compile(config_path, 1, 1, nullptr).errors;
}

int run(const Options& options) {
  int signal_fd = block_signals();
  Loaded loaded = load_and_compile(options.config_path, 1, 1, nullptr);
  if (!loaded.snapshot) {
    std::fputs(config::format_errors(loaded.errors).c_str(), stderr);
    return 1;
  }
  std::string level = options.log_level.empty() ? loaded.config->logging.level : options.log_level;
  observe::Level parsed;
  if (observe::parse_level(level, parsed)) observe::set_log_level(parsed);

  int workers = worker_count(options, *loaded.config);
  if (workers != 1) {
    // Per-worker balancer state is sized by the worker count: compile again for it.
    loaded = load_and_compile(options.config_path, workers, 1, nullptr);
    if (!loaded.snapshot) {
      std::fputs(config::format_errors(loaded.errors).c_str(), stderr);
      return 1;
    }
  }
  std::vector<std::vector<proxy::ListenerSocket>> listeners;
  if (!bind_listeners(*loaded.config, workers, listeners)) return 1;
  for (const auto& l : loaded.config->server.listeners) {
    log_info("listening", {{"listener", l.name}, {"address", l.address.to_string()}});
  }
  Gateway gateway(options, std::move(loaded), workers);
  return gateway.run(std::move(listeners), signal_fd);
}

}  // namespace turnpike::app
