// A worker's proxy state: accepting, draining, request ids (see engine.h).
#include "proxy/engine.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "observe/trace.h"
#include "proxy/exchange.h"
#include "proxy/http1_connection.h"

namespace turnpike::proxy {

Engine::Engine(net::Worker& worker, Shared& shared)
    : worker_(worker), shared_(shared), snapshots_(shared.snapshots, shared.retire_snapshot),
      pool_(worker.timers()) {
  std::random_device seed;
  for (uint64_t& word : random_.s) word = (uint64_t{seed()} << 32) | seed();
}

Engine::~Engine() = default;

void Engine::start(std::vector<ListenerSocket> listeners) {
  listeners_ = std::move(listeners);
  for (std::size_t i = 0; i < listeners_.size(); ++i) {
    listen_sockets_.push_back(std::make_unique<net::Socket>(loop(), listeners_[i].fd));
    net::spawn(accept_loop(i));
  }
}

net::Task<void> Engine::accept_loop(std::size_t index) {
  net::Socket& listener = *listen_sockets_[index];
  const std::string& name = listeners_[index].name;
  for (;;) {
    net::Address peer;
    peer.length = sizeof(peer.storage);
    int fd = ::accept4(listener.fd(), peer.get(), &peer.length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        // Readiness is edge-triggered: drained now, so wait for the next connection.
        listener.clear_readable();
        if (!co_await listener.readable()) break;  // aborted: draining
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // Out of descriptors or memory: back off briefly instead of spinning.
      co_await net::sleep(loop(), net::Duration(50));
      if (listener.aborted()) break;
      continue;
    }
    uint64_t max_connections = pin()->config->server.limits.max_connections;
    if (shared_.connections.load(std::memory_order_relaxed) >=
        static_cast<int64_t>(max_connections)) {
      ::close(fd);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    net::spawn(serve(*this, fd, peer, name));
  }
  // Closing the listening socket refuses new connections once every worker has closed its own.
  listener.close();
}

observe::WorkerMetrics Engine::metrics_copy() {
  observe::WorkerMetrics copy = metrics_;
  for (uint32_t id = 0; id < copy.targets().size(); ++id) {
    auto& t = copy.target(id);
    t.idle = static_cast<int64_t>(pool_.idle(id));
    t.active = t.active - t.idle;  // `active` counts live connections until here
  }
  return copy;
}

LocalSnapshot::Pin Engine::pin() {
  LocalSnapshot::Pin pin = snapshots_.pin();
  if (pin->generation != pruned_generation_) {
    pruned_generation_ = pin->generation;
    std::vector<bool> keep;
    for (const auto& [name, group] : pin->groups) {
      for (const auto& target : group->targets()) {
        if (target.pool_id >= keep.size()) keep.resize(target.pool_id + 1);
        keep[target.pool_id] = true;
      }
    }
    keep.resize(std::max<std::size_t>(keep.size(), 1));  // never empty: empty means "all"
    pool_.retain(keep);
  }
  return pin;
}

void Engine::refresh_snapshot() { pin(); }

void Engine::begin_drain() {
  draining_ = true;
  for (auto& listener : listen_sockets_) listener->abort();  // each accept loop closes its own
  for (ClientConnection* c = connections_; c; c = c->next) {
    if (c->idle) c->socket.abort();
  }
  pool_.close_all();
}

void Engine::close_all_connections() {
  drain_cut_ = true;
  for (ClientConnection* c = connections_; c; c = c->next) {
    if (c->current) c->current->cancel_for_client_gone();
    c->socket.abort();
  }
}

void Engine::attach(ClientConnection* c) {
  c->prev = nullptr;
  c->next = connections_;
  if (connections_) connections_->prev = c;
  connections_ = c;
  shared_.connections.fetch_add(1, std::memory_order_relaxed);
}

void Engine::detach(ClientConnection* c) {
  if (c->prev) {
    c->prev->next = c->next;
  } else {
    connections_ = c->next;
  }
  if (c->next) c->next->prev = c->prev;
  shared_.connections.fetch_sub(1, std::memory_order_relaxed);
}

void Engine::new_request_id(char out[32]) {
  observe::random_hex(out, 32, random_.next(), random_.next());
}

}  // namespace turnpike::proxy
