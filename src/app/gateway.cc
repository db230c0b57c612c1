// Gateway start-up and the control loop (see gateway.h). The main thread is the control thread:
// it owns signals, reloads and the admin API; the workers never wait for it.
#include "app/gateway.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "app/open_files.h"
#include "app/runtime.h"
#include "app/watch.h"
#include "net/address_claim.h"
#include "net/socket.h"
#include "observe/log.h"

namespace turnpike::app {
namespace {

using observe::log_error;
using observe::log_info;

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

int worker_count(const Options& options, const config::Config& config) {
  if (options.workers > 0) return options.workers;
  if (config.server.workers > 0) return config.server.workers;
  unsigned cpus = std::thread::hardware_concurrency();
  return cpus == 0 ? 1 : static_cast<int>(cpus);
}

// Every listener claimed for this process, then bound once per worker (SO_REUSEPORT). On
// failure nothing stays bound.
std::string bind_listeners(const config::Config& config, int workers,
                           std::vector<net::AddressClaim>& claims,
                           std::vector<std::vector<proxy::ListenerSocket>>& out) {
  out.assign(workers, {});
  auto close_all = [&] {
    for (auto& sockets : out) {
      for (auto& s : sockets) ::close(s.fd);
    }
    out.clear();
  };
  for (const config::Listener& listener : config.server.listeners) {
    net::Address address;
    if (!net::make_address(listener.address.host, listener.address.port, address)) {
      close_all();
      return "listener " + listener.name + ": address is not an IP address";
    }
    claims.emplace_back();
    if (std::string error = claims.back().claim(address); !error.empty()) {
      close_all();
      return "listener " + listener.name + ": " + error;
    }
    for (int w = 0; w < workers; ++w) {
      int fd = -1;
      std::string error = net::listen_on(address, fd);
      if (!error.empty()) {
        close_all();
        return "listener " + listener.name + ": " + error;
      }
      out[w].push_back({listener.name, fd});
    }
  }
  return {};
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

net::Task<void> watch_signals(Runtime& runtime, FileWatch& watch, int signal_fd) {
  net::Socket signals(runtime.control(), signal_fd, /*socket=*/false);
  for (;;) {
    signalfd_siginfo info;
    net::IoResult r =
        co_await net::read_some(signals, reinterpret_cast<char*>(&info), sizeof(info));
    if (!r.ok() || r.bytes != sizeof(info)) continue;
    switch (info.ssi_signo) {
      case SIGHUP:
        runtime.reload_file("SIGHUP", false);
        break;
      case SIGUSR1:
        runtime.reopen_access_log();
        log_info("access log reopened");
        break;
      default:
        co_await runtime.drain(info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
        watch.stop();
        co_await net::yield(runtime.control());  // aborted coroutines finish first
        runtime.control().stop();
        co_return;
    }
  }
}

Compiled compile_file(const std::string& path, int workers) {
  return compile(config::load_file(path, load_options()), workers, 1, nullptr);
}

// The file's bytes and what they compile to, from one read (so that the fingerprint the watcher
// compares with is that of the configuration running).
Compiled compile_bytes(const Options& options, const std::string* bytes, int workers) {
  if (!bytes) return compile_file(options.config_path, workers);  // unreadable: says why
  return compile(load_config(*bytes, options, options.config_path, nullptr), workers, 1, nullptr);
}

// Certificates are watched like the configuration file: a replaced one reloads.
void watch_tls_files(FileWatch& watch, const config::Config& config) {
  for (const std::string& file : tls_files(config)) {
    if (std::string error = watch.add(file); !error.empty()) {
      observe::log_warn("certificate file changes will not be picked up",
                        {{"file", file}, {"error", error}});
    }
  }
}

}  // namespace

std::vector<config::ConfigError> validate(const std::string& config_path) {
  return compile_file(config_path, 1).errors;
}

int run(const Options& options) {
  int signal_fd = block_signals();
  // Watch before the first read: a change made while starting is then seen.
  FileWatch watch(options.config_path);
  std::string watch_error = watch.arm();
  std::string bytes;
  bool readable = read_file(options.config_path, bytes);
  Compiled initial = compile_bytes(options, readable ? &bytes : nullptr, 1);
  if (!initial.snapshot) {
    std::fputs(config::format_errors(initial.errors).c_str(), stderr);
    return 1;
  }
  observe::Level level;  // --log-level is in the config already (load_config)
  if (observe::parse_level(initial.config->logging.level, level)) observe::set_log_level(level);

  int workers = worker_count(options, *initial.config);
  if (workers != 1) {
    // Per-worker balancer state is sized by the worker count: compile again for it.
    initial = compile_bytes(options, &bytes, workers);
    if (!initial.snapshot) {
      std::fputs(config::format_errors(initial.errors).c_str(), stderr);
      return 1;
    }
  }
  OpenFileLimit files = raise_open_file_limit();
  if (files.now != files.before) {
    log_info("open file limit raised",
             {{"from", std::to_string(files.before)}, {"to", std::to_string(files.now)}});
  }
  warn_if_too_few_files(*initial.config, workers);

  std::vector<std::vector<proxy::ListenerSocket>> listeners;
  std::vector<net::AddressClaim> claims;  // held until the process ends
  if (std::string error = bind_listeners(*initial.config, workers, claims, listeners);
      !error.empty()) {
    log_error(error);
    return 1;
  }
  for (const auto& l : initial.config->server.listeners) {
    log_info("listening", {{"listener", l.name}, {"address", l.address.to_string()}});
  }

  Runtime runtime(options, workers, std::move(initial), std::hash<std::string>{}(bytes));
  if (std::string error = runtime.start(std::move(listeners)); !error.empty()) {
    log_error(error);
    return 1;
  }
  if (watch_error.empty()) {
    watch_tls_files(watch, runtime.config());
    watch.start(runtime.control(), net::Duration(100), [&runtime, &watch] {
      runtime.reload_file("file changed", true);
      watch_tls_files(watch, runtime.config());
    });
  } else {
    observe::log_warn("configuration file changes will not be picked up", {{"error", watch_error}});
  }
  net::spawn(watch_signals(runtime, watch, signal_fd));
  runtime.control().run();
  watch.stop();  // before the runtime (and its loop) goes
  runtime.stop();
  log_info("turnpike stopped");
  return 0;
}

}  // namespace turnpike::app
