// The running gateway on the control thread (see runtime.h).
#include "app/runtime.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "app/open_files.h"
#include "config/json.h"
#include "config/plugin_catalog.h"
#include "observe/log.h"
#include "plugins/chain.h"
#include "plugins/jwt/remote_jwks.h"
#include "routing/pattern.h"

#ifndef TURNPIKE_VERSION
#define TURNPIKE_VERSION "dev"
#endif

namespace turnpike::app {

using observe::log_error;
using observe::log_info;
using observe::log_warn;

namespace {

// The access log target must be writable: checked when a configuration is compiled, so that
// validate and apply agree (validate must not create the file, hence access() not open()).
void check_access_log(const config::Config& config, std::vector<config::ConfigError>& errors) {
  const std::string& path = config.logging.access_log.path;
  if (path == "stdout" || path == "stderr" || path == "off") return;
  std::size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  if (::access(path.c_str(), F_OK) == 0) {
    if (::access(path.c_str(), W_OK) != 0) {
      errors.push_back({"logging.access_log.path", "cannot write " + path + ": " + std::strerror(errno)});
    }
  } else if (::access(dir.c_str(), W_OK) != 0) {
    errors.push_back({"logging.access_log.path",
                      "cannot create " + path + ": " + dir + ": " + std::strerror(errno)});
  }
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

std::string fixed(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", v);
  return text;
}

// "server.listeners: [...] (running: [...])" for each setting that waits for a restart.
std::string pending_text(const std::vector<config::RestartPending>& pending) {
  std::string out;
  for (const auto& p : pending) {
    if (!out.empty()) out += "; ";
    // The loader admits only UTF-8 text; a value that is not must still never throw here.
    auto text = [](const nlohmann::json& v) {
      return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    out += p.key + ": " + text(p.wanted) + " (running: " + text(p.running) + ")";
  }
  return out;
}

std::string keys_text(const std::vector<config::RestartPending>& pending) {
  std::string out;
  for (const auto& p : pending) out += (out.empty() ? "" : ", ") + p.key;
  return out;
}

}  // namespace

config::LoadOptions load_options(const std::string& source, const config::Config* running) {
  static const config::PluginCatalog* catalog = [] {
    auto* c = new config::PluginCatalog();
    plugins::register_plugins(*c);
    return c;
  }();
  config::LoadOptions options;
  options.plugins = catalog;
  options.path_pattern_error = routing::pattern_error;
  options.source = source;
  options.running = running;
  return options;
}

config::LoadResult load_config(std::string_view text, const Options& options,
                               const std::string& source, const config::Config* running) {
  config::LoadResult loaded = config::load_string(text, load_options(source, running));
  if (loaded.config) {
    if (options.workers > 0) loaded.config->server.workers = options.workers;
    if (!options.log_level.empty()) loaded.config->logging.level = options.log_level;
  }
  return loaded;
}

Compiled compile(config::LoadResult loaded, int workers, uint64_t generation,
                 const proxy::Snapshot* previous) {
  Compiled out;
  if (!loaded.config) {
    out.errors = std::move(loaded.errors);
    return out;
  }
  auto start = std::chrono::steady_clock::now();
  out.config = std::make_shared<const config::Config>(std::move(*loaded.config));
  out.snapshot = proxy::build_snapshot(out.config, workers, generation, previous, out.errors);
  check_access_log(*out.config, out.errors);
  if (!out.errors.empty()) out.snapshot = nullptr;
  out.compile_ms = ms_since(start);
  return out;
}

Runtime::Runtime(Options options, int workers, Compiled initial, std::size_t file_digest)
    : options_(std::move(options)), workers_count_(workers), current_(std::move(initial)),
      file_digest_(file_digest ^ tls_files_digest(*current_.config)) {
  access_log_ = std::make_unique<observe::AccessLog>(workers_count_);
  tracer_ = std::make_unique<observe::OtlpExporter>(workers_count_);
  shared_.access_log = access_log_.get();
  shared_.tracer = tracer_.get();
  shared_.retire_snapshot = [this](std::shared_ptr<const proxy::Snapshot> old) {
    control_.post([old = std::move(old)]() mutable { old.reset(); });
  };
  api_ = std::make_unique<admin::Api>(*this);
}

Runtime::~Runtime() { stop(); }

std::string Runtime::start(std::vector<std::vector<proxy::ListenerSocket>> listeners) {
  if (std::string error = apply_observability(*current_.config); !error.empty()) return error;
  if (std::string error = apply_admin(*current_.config); !error.empty()) {
    return "admin listener: " + error;
  }
  shared_.snapshots.publish(current_.snapshot);
  for (int i = 0; i < workers_count_; ++i) workers_.push_back(std::make_unique<net::Worker>(i));
  for (int i = 0; i < workers_count_; ++i) {
    engines_.push_back(std::make_unique<proxy::Engine>(*workers_[i], shared_));
  }
  for (int i = 0; i < workers_count_; ++i) {
    proxy::Engine* engine = engines_[i].get();
    workers_[i]->start([engine, sockets = std::move(listeners[i])]() mutable {
      engine->start(std::move(sockets));
    });
  }
  // The control thread (reloads, admin, scrapes) yields to the workers when they compete for a
  // core: a 10,000-route reload must not take CPU from requests. Workers, created above, keep
  // the default priority.
  ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
  ready_ = true;
  log_info("turnpike started", {{"workers", std::to_string(workers_count_)},
                                {"generation", std::to_string(generation_)},
                                {"version", TURNPIKE_VERSION}});
  return {};
}

void Runtime::stop() {
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  engines_.clear();
  workers_.clear();
  if (admin_) admin_->stop();
  access_log_->stop();
  tracer_->stop();
}

std::string Runtime::read_file(std::string& out) const {
  std::ifstream in(options_.config_path, std::ios::binary);
  if (!in) return "cannot read " + options_.config_path;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return {};
}

void Runtime::reload_file(const char* cause, bool only_if_changed) {
  std::string bytes;
  if (std::string error = read_file(bytes); !error.empty()) {
    ++reloads_failure_;
    log_error("configuration rejected; the running one stays", {{"cause", cause}, {"errors", error}});
    return;
  }
  std::size_t digest = std::hash<std::string>{}(bytes) ^ tls_files_digest(*current_.config);
  if (only_if_changed && digest == file_digest_) return;
  publish(compile_next(bytes, options_.config_path), cause);
  // What the next change is compared with: these bytes and the TLS files now running.
  file_digest_ = std::hash<std::string>{}(bytes) ^ tls_files_digest(*current_.config);
}

std::vector<std::string> tls_files(const config::Config& config) {
  std::vector<std::string> out;
  for (const config::Listener& l : config.server.listeners) {
    if (!l.tls) continue;
    for (const config::TlsCertificate& c : l.tls->certificates) {
      out.push_back(c.cert);
      out.push_back(c.key);
    }
  }
  return out;
}

std::size_t tls_files_digest(const config::Config& config) {
  std::size_t digest = 0;
  for (const std::string& path : tls_files(config)) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    digest = digest * 1000003 ^ std::hash<std::string>{}(text.str());
  }
  return digest;
}

Compiled Runtime::compile_next(std::string_view text, const std::string& source) const {
  auto start = std::chrono::steady_clock::now();
  config::LoadResult loaded = load_config(text, options_, source, current_.config.get());
  double parse_ms = ms_since(start);
  std::vector<config::RestartPending> pending;
  if (loaded.config) pending = config::keep_restart_only(*current_.config, *loaded.config);
  Compiled next =
      compile(std::move(loaded), workers_count_, generation_ + 1, current_.snapshot.get());
  next.parse_ms = parse_ms;
  next.pending = std::move(pending);
  return next;
}

Runtime::Applied Runtime::apply(std::string_view text, bool dry_run) {
  Compiled next = compile_next(text, "config");
  Applied result;
  if (dry_run) {
    result.errors = std::move(next.errors);
    result.generation = generation_;
    return result;
  }
  uint64_t generation = publish(std::move(next), "admin API", &result.errors);
  result.generation = generation;
  return result;
}

uint64_t Runtime::publish(Compiled next, const char* cause,
                          std::vector<config::ConfigError>* errors) {
  if (next.snapshot) {
    if (std::string error = apply_observability(*next.config); !error.empty()) {
      next.errors.push_back({"logging.access_log.path", error});
      next.snapshot = nullptr;
    }
  }
  if (!next.snapshot) {
    ++reloads_failure_;
    log_error("configuration rejected; the running one stays",
              {{"cause", cause}, {"errors", config::format_errors(next.errors)}});
    if (errors) *errors = std::move(next.errors);
    return 0;
  }
  if (next.config->server.limits != current_.config->server.limits ||
      next.config->upstreams != current_.config->upstreams) {
    warn_if_too_few_files(*next.config, workers_count_);
  }
  if (!next.pending.empty()) {
    log_warn("configuration applied; some settings wait for a restart",
             {{"cause", cause},
              {"restart_required", keys_text(next.pending)},
              {"pending", pending_text(next.pending)}});
  }
  if (observe::log_enabled(observe::Level::kDebug)) {
    for (const std::string& change : config::describe_changes(*current_.config, *next.config)) {
      observe::log_debug("configuration change", {{"cause", cause}, {"change", change}});
    }
  }
  auto start = std::chrono::steady_clock::now();
  ++generation_;
  current_ = std::move(next);
  shared_.snapshots.publish(current_.snapshot);
  double swap_ms = ms_since(start);
  // Idle workers pick the new snapshot up now, and close idle connections to removed targets.
  for (auto& engine : engines_) {
    proxy::Engine* e = engine.get();
    e->worker().post([e] { e->refresh_snapshot(); });
  }
  apply_admin(*current_.config);
  ++reloads_success_;
  log_info("configuration applied",
           {{"cause", cause},
            {"generation", std::to_string(generation_)},
            {"routes", std::to_string(current_.config->routes.size())},
            {"parse_ms", fixed(current_.parse_ms)},
            {"compile_ms", fixed(current_.compile_ms)},
            {"swap_ms", fixed(swap_ms)}});
  return generation_;
}

std::string Runtime::apply_observability(const config::Config& config) {
  observe::Level level;  // --log-level is already in the config (load_config)
  if (observe::parse_level(config.logging.level, level)) observe::set_log_level(level);
  if (std::string error = access_log_->set_target(config.logging.access_log.path); !error.empty()) {
    return error;
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

std::string Runtime::apply_admin(const config::Config& config) {
  std::string wanted = config.admin.address ? config.admin.address->to_string() : "";
  if (wanted == admin_address_) return {};
  std::unique_ptr<admin::HttpServer> server;
  if (config.admin.address) {
    server = std::make_unique<admin::HttpServer>(
        control_, [this](const admin::Request& r) { return api_->handle(r); },
        admin::HttpServer::Limits{});
    std::string error = server->listen(config.admin.address->host, config.admin.address->port);
    if (!error.empty()) {
      if (ready_) log_error("admin listener not started", {{"address", wanted}, {"error", error}});
      return error;
    }
    log_info("admin API listening", {{"address", wanted}});
  }
  if (admin_) admin_->stop();
  // The old server's connections finish on their own; keep it alive until then.
  if (admin_) retired_admin_.push_back(std::move(admin_));
  admin_ = std::move(server);
  admin_address_ = wanted;
  return {};
}

admin::Control::Running Runtime::running() const {
  // The fingerprint is computed when first asked for, not on the reload path.
  if (current_.hash.empty()) current_.hash = config::canonical_hash(*current_.config);
  return {current_.snapshot, current_.hash, current_.pending};
}

net::Task<observe::WorkerMetrics> Runtime::gather_metrics() {
  struct Gather {
    observe::WorkerMetrics sum;
    std::size_t remaining = 0;
    std::coroutine_handle<> waiter;
  };
  auto state = std::make_shared<Gather>();
  state->remaining = engines_.size();
  net::Loop* control = &control_;
  for (auto& engine : engines_) {
    proxy::Engine* e = engine.get();
    e->worker().post([state, e, control] {
      auto copy = std::make_shared<observe::WorkerMetrics>(e->metrics_copy());
      control->post([state, copy] {
        state->sum.merge(*copy);
        if (--state->remaining == 0 && state->waiter) std::exchange(state->waiter, {}).resume();
      });
    });
  }
  // Every wait has a deadline: a worker that does not answer in time is left out of this scrape.
  struct Wait {
    std::shared_ptr<Gather> state;
    net::Loop& loop;
    net::Deadline deadline{this, &expire};
    static void expire(void* self) {
      auto* w = static_cast<Wait*>(self);
      if (auto h = std::exchange(w->state->waiter, {})) w->loop.schedule(h);
    }
    bool await_ready() const { return state->remaining == 0; }
    void await_suspend(std::coroutine_handle<> h) {
      state->waiter = h;
      loop.timers().arm(deadline, net::Duration(2000));
    }
    void await_resume() { loop.timers().disarm(deadline); }
  };
  Wait wait{state, control_};
  co_await wait;
  co_return state->sum;
}

observe::ProcessGauges Runtime::gauges() const {
  observe::ProcessGauges g;
  g.active_connections = shared_.connections.load();
  g.generation = generation_;
  g.reloads_success = reloads_success_;
  g.reloads_failure = reloads_failure_;
  g.log_dropped = access_log_->dropped();
  g.spans_dropped = tracer_->dropped();
  plugins::jwt::RefreshCounts refreshes = plugins::jwt::refresh_counts();
  g.jwt_key_refreshes_success = refreshes.success;
  g.jwt_key_refreshes_failure = refreshes.failure;
  g.version = TURNPIKE_VERSION;
  for (const auto& route : current_.config->routes) g.routes.push_back(route.name);
  for (const auto& [name, group] : current_.snapshot->groups) {
    std::vector<std::string> targets;
    for (const auto& t : group->targets()) targets.push_back(t.address);
    g.upstreams.emplace_back(name, std::move(targets));
  }
  for (const auto& [listener, server] : current_.snapshot->tls) {
    for (const auto& served : server->certificates()) {
      for (const std::string& name : served.names) {
        g.certificates.push_back({listener, name, static_cast<int64_t>(served.not_after)});
      }
    }
  }
  return g;
}

double Runtime::uptime_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

net::Task<void> Runtime::drain(const char* cause) {
  ready_ = false;
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
    for (auto& engine : engines_) {
      proxy::Engine* e = engine.get();
      e->worker().post([e] { e->close_all_connections(); });
    }
    auto cut = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (shared_.connections.load() > 0 && std::chrono::steady_clock::now() < cut) {
      co_await net::sleep(control_, net::Duration(10));
    }
  }
  // The admin listener ends with the process; let its coroutines finish on this loop.
  if (admin_) admin_->stop();
  for (auto& retired : retired_admin_) retired->stop();
  co_await net::yield(control_);
}

}  // namespace turnpike::app
