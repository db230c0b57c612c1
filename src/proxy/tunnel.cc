// The relay of an upgraded connection (see tunnel.h). One direction runs in the caller's
// coroutine, the other in a spawned one that reports its end through a Completion; one idle
// deadline covers both and is pushed back whenever a byte moves.
#include "proxy/tunnel.h"

#include <sys/socket.h>

#include "net/completion.h"

namespace turnpike::proxy {
namespace {

struct Relay {
  net::Timers& timers;
  net::Duration idle;
  TunnelEnd& client;
  TunnelEnd& upstream;
  net::Deadline deadline{this, &on_idle};
  bool failed = false;  // one side reset or was aborted: the other is cut too

  // Nothing moved for `idle`, or one side failed: both sockets stop.
  static void on_idle(void* self) { static_cast<Relay*>(self)->cut(); }
  void cut() {
    failed = true;
    client.socket.abort();
    upstream.socket.abort();
  }
};

// Copies `from` to `to` until `from` ends (passed on as a half-close) or either side fails.
net::Task<void> pump(Relay& relay, TunnelEnd& from, TunnelEnd& to) {
  net::Buffer& buffer = *from.buffer;
  for (;;) {
    if (buffer.readable() == 0) {
      buffer.clear();
      net::IoResult r = co_await net::read_some(from.transport, from.socket, buffer.write_ptr(),
                                                buffer.writable());
      if (r.status == net::IoStatus::kEof) {
        ::shutdown(to.socket.fd(), SHUT_WR);
        co_return;
      }
      if (!r.ok()) break;
      buffer.commit(r.bytes);
    }
    relay.timers.arm(relay.deadline, relay.idle);
    iovec iov{buffer.read_ptr(), buffer.readable()};
    net::IoResult w = co_await net::write_all(to.transport, to.socket, &iov, 1);
    to.bytes_sent += w.bytes;
    if (!w.ok()) break;
    buffer.consume(buffer.readable());
  }
  relay.cut();
}

net::Task<void> pump_and_report(Relay& relay, TunnelEnd& from, TunnelEnd& to,
                                net::Completion<bool>& done) {
  co_await pump(relay, from, to);
  done.complete(true);
}

}  // namespace

net::Task<void> relay(net::Loop& loop, net::Timers& timers, TunnelEnd& client,
                      TunnelEnd& upstream, net::Duration idle) {
  Relay r{timers, idle, client, upstream};
  timers.arm(r.deadline, idle);
  net::Completion<bool> upstream_bound_done(loop);
  net::spawn(pump_and_report(r, client, upstream, upstream_bound_done));
  co_await pump(r, upstream, client);
  // The spawned direction always ends: on its side's EOF, a failure, the idle deadline, or the
  // aborts of a drain; its frame refers to this one, so wait for it.
  co_await upstream_bound_done.wait();
  timers.disarm(r.deadline);
}

}  // namespace turnpike::proxy
