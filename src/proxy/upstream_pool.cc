// Idle upstream connections (see upstream_pool.h).
#include "proxy/upstream_pool.h"

#include <string>

#include "observe/log.h"

namespace turnpike::proxy {

UpstreamConnection::~UpstreamConnection() {
  --metrics_.target(pool_id).active;
  if (observe::log_enabled(observe::Level::kDebug)) {
    // The peer's address costs a syscall: only asked for when the line is written.
    net::Address peer;
    peer.length = sizeof(peer.storage);
    std::string target = ::getpeername(socket.fd(), peer.get(), &peer.length) == 0
                             ? peer.to_string()
                             : "unknown";
    observe::log_debug("upstream connection closed",
                       {{"target", target}, {"requests", std::to_string(requests)}});
  }
}

void UpstreamConnection::on_readiness(uint32_t) {
  // An idle connection has nothing to say: a FIN, a reset or stray bytes all end it.
  if (pool_) pool_->discard(this);
}

void UpstreamConnection::on_idle_expired(void* self) {
  auto* conn = static_cast<UpstreamConnection*>(self);
  if (conn->pool_) conn->pool_->discard(conn);
}

UpstreamPool::~UpstreamPool() { close_all(); }

void UpstreamPool::unlink(UpstreamConnection* conn) {
  Slot& slot = slots_[conn->pool_id];
  if (conn->prev_) {
    conn->prev_->next_ = conn->next_;
  } else {
    slot.head = conn->next_;
  }
  if (conn->next_) conn->next_->prev_ = conn->prev_;
  conn->next_ = conn->prev_ = nullptr;
  conn->pool_ = nullptr;
  --slot.count;
  timers_.disarm(conn->idle_deadline_);
  conn->socket.set_listener(nullptr);
}

void UpstreamPool::discard(UpstreamConnection* conn) {
  unlink(conn);
  delete conn;
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take(uint32_t pool_id) {
  if (pool_id >= slots_.size() || !slots_[pool_id].head) return nullptr;
  UpstreamConnection* conn = slots_[pool_id].head;
  unlink(conn);
  return std::unique_ptr<UpstreamConnection>(conn);
}

void UpstreamPool::put(std::unique_ptr<UpstreamConnection> conn,
                       const config::Keepalive& keepalive) {
  if (conn->socket.hangup() || conn->socket.aborted()) return;
  if (!keep_.empty() && (conn->pool_id >= keep_.size() || !keep_[conn->pool_id])) return;
  if (conn->pool_id >= slots_.size()) slots_.resize(conn->pool_id + 1);
  Slot& slot = slots_[conn->pool_id];
  if (slot.count >= keepalive.max_idle_per_worker) return;
  UpstreamConnection* raw = conn.release();
  raw->pool_ = this;
  raw->prev_ = nullptr;
  raw->next_ = slot.head;
  if (slot.head) slot.head->prev_ = raw;
  slot.head = raw;
  ++slot.count;
  raw->socket.set_listener(raw);
  timers_.arm(raw->idle_deadline_, keepalive.idle_timeout);
}

void UpstreamPool::close_target(uint32_t pool_id) {
  if (pool_id >= slots_.size()) return;
  while (slots_[pool_id].head) discard(slots_[pool_id].head);
}

void UpstreamPool::retain(const std::vector<bool>& keep) {
  keep_ = keep;
  for (uint32_t id = 0; id < slots_.size(); ++id) {
    if (id >= keep.size() || !keep[id]) close_target(id);
  }
}

void UpstreamPool::close_all() {
  for (uint32_t id = 0; id < slots_.size(); ++id) close_target(id);
}

std::size_t UpstreamPool::idle(uint32_t pool_id) const {
  return pool_id < slots_.size() ? slots_[pool_id].count : 0;
}

}  // namespace turnpike::proxy
