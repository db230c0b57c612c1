// The byte relay of an upgraded connection (a WebSocket after the upstream's 101): bytes flow
// both ways unchanged, each side's end passed on to the other as a half-close, until both ends
// closed, one side failed, or nothing moved for `idle`.
#pragma once

#include <cstdint>

#include "net/buffer.h"
#include "net/loop.h"
#include "net/socket.h"
#include "net/task.h"
#include "net/timers.h"
#include "net/transport.h"

namespace turnpike::proxy {

struct TunnelEnd {
  net::Transport& transport;
  net::Socket& socket;
  net::BufferRef& buffer;  // bytes already read from this side wait here to go first
  uint64_t bytes_sent = 0;  // bytes relayed *to* this side
};

// Returns when the tunnel is over; both sockets are then done with (the caller closes them).
net::Task<void> relay(net::Loop& loop, net::Timers& timers, TunnelEnd& client,
                      TunnelEnd& upstream, net::Duration idle);

}  // namespace turnpike::proxy
