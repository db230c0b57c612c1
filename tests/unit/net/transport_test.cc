// read_some / write_all through a Transport that is not the plain socket, on a real Loop over a
// socketpair: bytes held above the socket are returned without a readiness event; a read that must
// first flush bytes of its own waits for writability, and a write that must first read waits for
// readability (what TLS does during a handshake or key update), and each then completes.
#include "net/transport.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

#include "net/loop.h"
#include "net/task.h"
#include "net_test_util.h"

namespace turnpike::net {
namespace {

using testing_util::run_loop;
using testing_util::socket_pair;

// Holds `held` above the socket (like decrypted bytes not yet returned) and, before any read,
// must send `outgoing` (like a record the protocol owes the peer); a write must first read
// `ack_needed` bytes from the peer.
class StagedTransport final : public Transport {
 public:
  std::string held;
  std::string outgoing;
  std::size_t ack_needed = 0;

  IoResult try_read(Socket& socket, char* buffer, std::size_t length, Want& want) override {
    if (!held.empty()) {
      std::size_t n = std::min(length, held.size());
      held.copy(buffer, n);
      held.erase(0, n);
      return {IoStatus::kOk, n};
    }
    while (!outgoing.empty()) {
      iovec iov{outgoing.data(), outgoing.size()};
      IoResult w = socket.try_write(&iov, 1);
      if (w.status == IoStatus::kWouldBlock) {
        want = Want::kWrite;
        return w;
      }
      if (!w.ok()) return w;
      outgoing.erase(0, w.bytes);
    }
    want = Want::kRead;
    return socket.try_read(buffer, length);
  }

  IoResult try_write(Socket& socket, const iovec* iov, int count, Want& want) override {
    while (ack_needed > 0) {
      char ack[16];
      IoResult r = socket.try_read(ack, std::min(ack_needed, sizeof(ack)));
      if (r.status == IoStatus::kWouldBlock) {
        want = Want::kRead;
        return r;
      }
      if (!r.ok() || r.bytes == 0) return {IoStatus::kError, 0, ECONNRESET};
      ack_needed -= r.bytes;
    }
    want = Want::kWrite;
    return socket.try_write(iov, count);
  }

  bool pending() const override { return !held.empty(); }
};

struct Outcome {
  bool done = false;
  IoResult result{IoStatus::kAborted};
  std::string data;
};

Task<void> read_once(Loop& loop, Transport& transport, Socket& socket, Outcome& out) {
  char buffer[64];
  out.result = co_await read_some(transport, socket, buffer, sizeof(buffer));
  out.data.assign(buffer, out.result.bytes);
  out.done = true;
  loop.stop();
}

Task<void> write_once(Loop& loop, Transport& transport, Socket& socket, std::string data,
                      Outcome& out) {
  iovec iov{data.data(), data.size()};
  out.result = co_await write_all(transport, socket, &iov, 1);
  out.done = true;
  loop.stop();
}

std::string drain(int fd, std::size_t at_least) {
  std::string got;
  char buffer[65536];
  while (got.size() < at_least) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      got.append(buffer, n);
    } else if (n == 0 || errno != EAGAIN) {
      break;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return got;
}

TEST(TransportTest, PlainTransportReadsWhatThePeerWrote) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  Outcome out;
  ASSERT_EQ(::write(peer, "ping", 4), 4);
  spawn(read_once(loop, plain_transport(), socket, out));
  run_loop(loop);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.result.status, IoStatus::kOk);
  EXPECT_EQ(out.data, "ping");
  ::close(peer);
}

TEST(TransportTest, HeldBytesAreReturnedWithoutAReadinessEvent) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  socket.clear_readable();  // the socket itself has nothing and will say nothing
  StagedTransport transport;
  transport.held = "held";
  Outcome out;
  spawn(read_once(loop, transport, socket, out));
  EXPECT_TRUE(out.done);  // completed inside await_ready: no suspension
  EXPECT_EQ(out.data, "held");
  ::close(peer);
}

TEST(TransportTest, ReadThatMustFirstSendWaitsForWritability) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  StagedTransport transport;
  transport.outgoing.assign(4 << 20, 'r');  // far more than the socket buffer takes at once
  const std::size_t owed = transport.outgoing.size();
  ASSERT_EQ(::write(peer, "pong", 4), 4);
  Outcome out;
  spawn(read_once(loop, transport, socket, out));
  EXPECT_FALSE(out.done);  // the socket buffer filled: waiting to write, not to read

  std::string flushed;
  std::thread peer_side([&] {
    flushed = drain(peer, owed);  // makes room, so the loop sees EPOLLOUT
  });
  run_loop(loop);
  peer_side.join();
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.result.status, IoStatus::kOk);
  EXPECT_EQ(out.data, "pong");
  EXPECT_EQ(flushed.size(), owed);
  ::close(peer);
}

TEST(TransportTest, WriteThatMustFirstReadWaitsForReadability) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  socket.clear_readable();
  StagedTransport transport;
  transport.ack_needed = 3;
  Outcome out;
  spawn(write_once(loop, transport, socket, "payload", out));
  EXPECT_FALSE(out.done);  // waiting for the peer's bytes

  std::thread peer_side([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(::write(peer, "ack", 3), 3);
  });
  run_loop(loop);
  peer_side.join();
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.result.status, IoStatus::kOk);
  EXPECT_EQ(out.result.bytes, 7u);
  EXPECT_EQ(drain(peer, 7), "payload");
  ::close(peer);
}

TEST(TransportTest, AbortWakesAReaderWaitingToWrite) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  StagedTransport transport;
  transport.outgoing.assign(4 << 20, 'r');
  Outcome out;
  spawn(read_once(loop, transport, socket, out));
  ASSERT_FALSE(out.done);
  socket.abort();
  run_loop(loop);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.result.status, IoStatus::kAborted);
  ::close(peer);
}

}  // namespace
}  // namespace turnpike::net
