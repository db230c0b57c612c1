// The running gateway as the control thread sees it: workers and their engines, the published
// configuration, reloads from every source (file, SIGHUP, admin API), metrics gathering and the
// drain. Everything here runs on the control thread unless it says otherwise.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/api.h"
#include "app/gateway.h"
#include "config/diff.h"
#include "config/loader.h"
#include "net/loop.h"
#include "net/worker.h"
#include "observe/access_log.h"
#include "observe/otlp.h"
#include "proxy/engine.h"
#include "proxy/snapshot.h"

namespace turnpike::app {

// A configuration loaded, validated and compiled, not yet published.
struct Compiled {
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const proxy::Snapshot> snapshot;
  mutable std::string hash;  // computed on first use (GET /config)
  std::vector<config::ConfigError> errors;
  // Restart-only settings the text asked to change; `config` holds the running values instead.
  std::vector<config::RestartPending> pending;
  double parse_ms = 0;
  double compile_ms = 0;
};

// Compiles the text of a configuration for `workers` workers (`previous`: carry state over).
Compiled compile(config::LoadResult loaded, int workers, uint64_t generation,
                 const proxy::Snapshot* previous);
// `source` names the text in syntax errors; `running`: the configuration a "***" secret keeps.
config::LoadOptions load_options(const std::string& source = "config",
                                 const config::Config* running = nullptr);
// Loads a configuration text for this process: --workers and --log-level replace the text's
// values, so that the configuration (and GET /config) says what runs.
config::LoadResult load_config(std::string_view text, const Options& options,
                               const std::string& source, const config::Config* running);

// The certificate and key files a configuration's TLS listeners name, and a digest of their
// bytes: a changed file reloads the configuration as a changed configuration file does.
std::vector<std::string> tls_files(const config::Config& config);
std::size_t tls_files_digest(const config::Config& config);

class Runtime final : public admin::Control {
 public:
  // `file_digest`: std::hash of the file bytes `initial` was compiled from.
  Runtime(Options options, int workers, Compiled initial, std::size_t file_digest);
  ~Runtime() override;

  net::Loop& control() { return control_; }
  const config::Config& config() const { return *current_.config; }
  // Starts the workers on their listening sockets; empty string on success.
  std::string start(std::vector<std::vector<proxy::ListenerSocket>> listeners);
  // Re-reads the configuration file. With `only_if_changed`, a file whose bytes are those of
  // the running configuration, and whose TLS files are those running, is left alone (inotify
  // reports more than content changes).
  void reload_file(const char* cause, bool only_if_changed);
  void reopen_access_log() { access_log_->reopen(); }
  // Stop accepting, let in-flight requests finish up to drain_timeout.
  net::Task<void> drain(const char* cause);
  // Stops the workers and the writers (after the control loop has ended).
  void stop();

  // admin::Control
  Running running() const override;
  bool ready() const override { return ready_; }
  Applied apply(std::string_view text, bool dry_run) override;
  net::Task<observe::WorkerMetrics> gather_metrics() override;
  observe::ProcessGauges gauges() const override;
  double uptime_seconds() const override;

 private:
  // Publishes a compiled configuration (or counts the failure and hands back its errors).
  // Returns its generation, or 0.
  uint64_t publish(Compiled next, const char* cause,
                   std::vector<config::ConfigError>* errors = nullptr);
  // Parses and compiles a configuration text as the next generation (nothing published).
  Compiled compile_next(std::string_view text, const std::string& source) const;
  std::string apply_observability(const config::Config& config);
  // Starts (or moves) the admin listener; empty string, or why it could not.
  std::string apply_admin(const config::Config& config);
  std::string read_file(std::string& out) const;

  Options options_;
  int workers_count_;
  Compiled current_;
  uint64_t generation_ = 1;
  std::size_t file_digest_ = 0;  // of the file bytes and TLS files last applied
  uint64_t reloads_success_ = 0;
  uint64_t reloads_failure_ = 0;
  bool ready_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();

  net::Loop control_;
  proxy::Shared shared_;
  std::unique_ptr<observe::AccessLog> access_log_;
  std::unique_ptr<observe::OtlpExporter> tracer_;
  std::vector<std::unique_ptr<net::Worker>> workers_;
  std::vector<std::unique_ptr<proxy::Engine>> engines_;
  std::unique_ptr<admin::Api> api_;
  std::unique_ptr<admin::HttpServer> admin_;
  std::vector<std::unique_ptr<admin::HttpServer>> retired_admin_;
  std::string admin_address_;  // what admin_ listens on ("" when off)
};

}  // namespace turnpike::app
