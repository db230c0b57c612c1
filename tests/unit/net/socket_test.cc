// Socket operations on a real Loop over socketpairs and loopback TCP: a task reading what the
// peer wrote, EOF, write_all through a socket buffer much smaller than the data, abort() and
// close() waking waiters, hang-ups reported to a listener, and connect().
#include "net/socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "net/loop.h"
#include "net/task.h"
#include "net_test_util.h"

namespace turnpike::net {
namespace {

using std::chrono::milliseconds;
using testing_util::run_loop;
using testing_util::socket_pair;

// Calls `fn(context)` from a deadline after `after`, on the loop's thread.
class Later {
 public:
  using Fn = void (*)(void*);
  Later(Loop& loop, Duration after, Fn fn, void* context) : fn_(fn), context_(context) {
    loop.timers().arm(deadline_, after);
  }

 private:
  static void fire(void* self) {
    auto* l = static_cast<Later*>(self);
    l->fn_(l->context_);
  }
  Fn fn_;
  void* context_;
  Deadline deadline_{this, &fire};
};

struct ReadOutcome {
  bool done = false;
  IoStatus status = IoStatus::kOk;
  std::string data;
};

Task<void> read_once(Loop& loop, Socket& socket, ReadOutcome& out) {
  char buffer[256];
  IoResult r = co_await read_some(socket, buffer, sizeof(buffer));
  out.status = r.status;
  out.data.assign(buffer, r.bytes);
  out.done = true;
  loop.stop();
}

TEST(SocketTest, ReadSomeWaitsForThePeer) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  ASSERT_TRUE(socket.valid());
  ReadOutcome out;
  spawn(read_once(loop, socket, out));
  EXPECT_FALSE(out.done);  // nothing to read yet: suspended

  struct Ctx {
    int peer;
  } ctx{peer};
  Later write_later(loop, milliseconds(5), [](void* c) {
    ASSERT_EQ(::write(static_cast<Ctx*>(c)->peer, "ping", 4), 4);
  }, &ctx);
  run_loop(loop);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.status, IoStatus::kOk);
  EXPECT_EQ(out.data, "ping");
  ::close(peer);
}

TEST(SocketTest, ReadSomeWaitsForTheFirstEventThenReadsOnce) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  ASSERT_EQ(::write(peer, "ready", 5), 5);
  ReadOutcome out;
  spawn(read_once(loop, socket, out));
  // Readiness is unknown until the loop reports it: no speculative syscall.
  EXPECT_FALSE(out.done);
  run_loop(loop);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.data, "ready");
  ::close(peer);
}

TEST(SocketTest, DataAndHangupInOneEdgeStillReachEof) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  // Data and FIN arrive before the loop looks: epoll reports them as one edge.
  ASSERT_EQ(::write(peer, "last words", 10), 10);
  ::close(peer);
  ReadOutcome first;
  spawn(read_once(loop, socket, first));
  run_loop(loop);
  ASSERT_TRUE(first.done);
  EXPECT_EQ(first.data, "last words");
  // The short read must not mark the socket drained: the EOF comes without another event.
  ReadOutcome second;
  spawn(read_once(loop, socket, second));
  EXPECT_TRUE(second.done);
  EXPECT_EQ(second.status, IoStatus::kEof);
}

TEST(SocketTest, PeerCloseIsEof) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  ReadOutcome out;
  spawn(read_once(loop, socket, out));
  struct Ctx {
    int peer;
  } ctx{peer};
  Later close_later(loop, milliseconds(5), [](void* c) { ::close(static_cast<Ctx*>(c)->peer); },
                    &ctx);
  run_loop(loop);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.status, IoStatus::kEof);
  EXPECT_TRUE(socket.hangup());
}

// ---------------------------------------------------------------------------------------------
// write_all through a small socket buffer, with a reader on the other side.

struct WriteOutcome {
  bool done = false;
  IoResult result;
};

Task<void> write_everything(Socket& socket, iovec* iov, int count, WriteOutcome& out) {
  out.result = co_await write_all(socket, iov, count);
  out.done = true;
}

Task<void> read_until(Loop& loop, Socket& socket, std::size_t want, std::string& out) {
  std::vector<char> buffer(7000);  // odd size: reads end mid-iovec
  while (out.size() < want) {
    IoResult r = co_await read_some(socket, buffer.data(), buffer.size());
    if (!r.ok()) break;
    out.append(buffer.data(), r.bytes);
  }
  loop.stop();
}

TEST(SocketTest, WriteAllLargerThanTheSocketBuffer) {
  Loop loop;
  auto [a, b] = socket_pair();
  int small = 4096;
  ::setsockopt(a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  ::setsockopt(b, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  Socket writer(loop, a);
  Socket reader(loop, b);

  // Three slices of different sizes and contents, 1.5 MiB in all.
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < 3; ++i) {
    std::string part((i + 1) * 256 * 1024, '\0');
    for (std::size_t j = 0; j < part.size(); ++j) part[j] = static_cast<char>('a' + (j * 7 + i) % 26);
    parts.push_back(std::move(part));
  }
  std::string expected = parts[0] + parts[1] + parts[2];
  std::vector<iovec> iov;
  for (auto& p : parts) iov.push_back({p.data(), p.size()});

  WriteOutcome wrote;
  spawn(write_everything(writer, iov.data(), static_cast<int>(iov.size()), wrote));
  EXPECT_FALSE(wrote.done);  // the socket buffer is full: it waits for the reader
  std::string got;
  spawn(read_until(loop, reader, expected.size(), got));
  run_loop(loop, std::chrono::seconds(5));

  EXPECT_TRUE(wrote.done);
  EXPECT_EQ(wrote.result.status, IoStatus::kOk);
  EXPECT_EQ(wrote.result.bytes, expected.size());
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the bytes arrived changed or out of order";
}

TEST(SocketTest, WriteAllWithEmptySlices) {
  Loop loop;
  auto [a, b] = socket_pair();
  Socket writer(loop, a);
  std::string x = "abc", y = "de";
  std::vector<iovec> iov = {{x.data(), 0}, {x.data(), 3}, {y.data(), 0}, {y.data(), 2}, {x.data(), 0}};
  WriteOutcome wrote;
  spawn(write_everything(writer, iov.data(), static_cast<int>(iov.size()), wrote));
  ASSERT_TRUE(wrote.done);
  EXPECT_EQ(wrote.result.status, IoStatus::kOk);
  EXPECT_EQ(wrote.result.bytes, 5u);
  char buffer[16];
  EXPECT_EQ(::read(b, buffer, sizeof(buffer)), 5);
  EXPECT_EQ(std::string(buffer, 5), "abcde");
  ::close(b);
}

TEST(SocketTest, WriteToAClosedPeerIsAnError) {
  Loop loop;
  auto [a, b] = socket_pair();
  ::close(b);
  Socket writer(loop, a);
  std::string data = "lost";
  iovec iov{data.data(), data.size()};
  WriteOutcome wrote;
  spawn(write_everything(writer, &iov, 1, wrote));  // MSG_NOSIGNAL: no SIGPIPE
  ASSERT_TRUE(wrote.done);
  EXPECT_EQ(wrote.result.status, IoStatus::kError);
  EXPECT_EQ(wrote.result.error, EPIPE);
}

// ---------------------------------------------------------------------------------------------
// abort() and close() end waits.

TEST(SocketTest, AbortWakesAReaderWithAborted) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  ReadOutcome out;
  spawn(read_once(loop, socket, out));
  ASSERT_FALSE(out.done);
  // From a deadline callback, as the data plane does.
  Later abort_later(loop, milliseconds(5), [](void* s) { static_cast<Socket*>(s)->abort(); },
                    &socket);
  run_loop(loop);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.status, IoStatus::kAborted);
  EXPECT_TRUE(socket.aborted());

  // Later operations end at once, even with data available...
  ASSERT_EQ(::write(peer, "x", 1), 1);
  ReadOutcome again;
  spawn(read_once(loop, socket, again));
  EXPECT_TRUE(again.done);
  EXPECT_EQ(again.status, IoStatus::kAborted);
  char c;
  EXPECT_EQ(socket.try_read(&c, 1).status, IoStatus::kAborted);

  // ...until clear_abort().
  socket.clear_abort();
  char x = 0;
  IoResult after = socket.try_read(&x, 1);
  EXPECT_EQ(after.status, IoStatus::kOk);
  EXPECT_EQ(x, 'x');
  ::close(peer);
}

TEST(SocketTest, AbortWakesAWriterWithAborted) {
  Loop loop;
  auto [a, b] = socket_pair();
  int small = 4096;
  ::setsockopt(a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  Socket writer(loop, a);
  std::string data(1 << 20, 'w');
  iovec iov{data.data(), data.size()};
  WriteOutcome wrote;
  spawn(write_everything(writer, &iov, 1, wrote));
  ASSERT_FALSE(wrote.done);  // nobody reads: blocked on a full buffer
  struct Ctx {
    Socket* socket;
    Loop* loop;
  } ctx{&writer, &loop};
  Later abort_later(loop, milliseconds(5), [](void* c) {
    static_cast<Ctx*>(c)->socket->abort();
    static_cast<Ctx*>(c)->loop->stop();
  }, &ctx);
  run_loop(loop);
  EXPECT_TRUE(wrote.done);
  EXPECT_EQ(wrote.result.status, IoStatus::kAborted);
  EXPECT_GT(wrote.result.bytes, 0u);  // what made it before the abort
  EXPECT_LT(wrote.result.bytes, data.size());
  ::close(b);
}

TEST(SocketTest, CloseWakesAReader) {
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  ReadOutcome out;
  spawn(read_once(loop, socket, out));
  Later close_later(loop, milliseconds(5), [](void* s) { static_cast<Socket*>(s)->close(); },
                    &socket);
  run_loop(loop);
  EXPECT_TRUE(out.done);
  EXPECT_EQ(out.status, IoStatus::kAborted);
  EXPECT_FALSE(socket.valid());
  ::close(peer);
}

// A hang-up while no task waits goes to the listener (a client leaving while its request is with
// the upstream).
TEST(SocketTest, HangupWithoutWaiterGoesToTheListener) {
  struct Listener final : ReadinessListener {
    explicit Listener(Loop& loop) : loop(loop) {}
    void on_readiness(uint32_t events) override {
      if (events & (EPOLLRDHUP | EPOLLHUP)) {
        hangup = true;
        loop.stop();
      }
    }
    Loop& loop;
    bool hangup = false;
  };
  Loop loop;
  auto [ours, peer] = socket_pair();
  Socket socket(loop, ours);
  Listener listener(loop);
  socket.set_listener(&listener);
  ::close(peer);
  run_loop(loop);
  EXPECT_TRUE(listener.hangup);
  EXPECT_TRUE(socket.hangup());
}

// ---------------------------------------------------------------------------------------------
// Loopback TCP.

struct Served {
  bool done = false;
  std::string data;
};

Task<void> accept_and_read(Loop& loop, Socket& listener, Served& out) {
  int fd = -1;
  while (fd < 0) {
    fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) break;
    if (errno != EAGAIN) co_return;
    listener.clear_readable();
    if (!co_await listener.readable()) co_return;
  }
  Socket conn(loop, fd);
  char buffer[64];
  for (;;) {
    IoResult r = co_await read_some(conn, buffer, sizeof(buffer));
    if (!r.ok()) break;
    out.data.append(buffer, r.bytes);
  }
  out.done = true;
  loop.stop();
}

struct Connected {
  bool done = false;
  IoResult connect;
  IoResult write;
};

Task<void> connect_and_send(Loop& loop, Address address, Connected& out, bool stop_loop) {
  Socket socket;
  out.connect = co_await connect(loop, address.get(), address.length, socket);
  if (out.connect.ok()) {
    std::string hello = "hello over tcp";
    iovec iov{hello.data(), hello.size()};
    out.write = co_await write_all(socket, &iov, 1);
  }
  out.done = true;
  if (stop_loop) loop.stop();
  // Leaving closes the socket: the server sees EOF.
}

uint16_t bound_port(int fd) {
  sockaddr_in sin{};
  socklen_t len = sizeof(sin);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len), 0);
  return ntohs(sin.sin_port);
}

TEST(SocketTest, ConnectOverLoopback) {
  Loop loop;
  Address any;
  ASSERT_TRUE(make_address("127.0.0.1", 0, any));
  int listen_fd = -1;
  ASSERT_EQ(listen_on(any, listen_fd), "");
  Socket listener(loop, listen_fd);
  Address target;
  ASSERT_TRUE(make_address("127.0.0.1", bound_port(listen_fd), target));
  EXPECT_EQ(target.to_string(), "127.0.0.1:" + std::to_string(bound_port(listen_fd)));

  Served served;
  Connected connected;
  spawn(accept_and_read(loop, listener, served));
  spawn(connect_and_send(loop, target, connected, /*stop_loop=*/false));
  run_loop(loop);
  EXPECT_TRUE(connected.done);
  EXPECT_EQ(connected.connect.status, IoStatus::kOk);
  EXPECT_EQ(connected.write.status, IoStatus::kOk);
  EXPECT_TRUE(served.done);
  EXPECT_EQ(served.data, "hello over tcp");
}

TEST(SocketTest, ConnectRefused) {
  // A port that was just free: bound, never listened on, closed.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(probe, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  uint16_t port = bound_port(probe);
  ::close(probe);

  Loop loop;
  Address target;
  ASSERT_TRUE(make_address("127.0.0.1", port, target));
  Connected connected;
  spawn(connect_and_send(loop, target, connected, /*stop_loop=*/true));
  if (!connected.done) run_loop(loop);
  EXPECT_TRUE(connected.done);
  EXPECT_EQ(connected.connect.status, IoStatus::kError);
  EXPECT_EQ(connected.connect.error, ECONNREFUSED);
}

TEST(AddressTest, MakeAddress) {
  Address a;
  ASSERT_TRUE(make_address("10.1.2.3", 8080, a));
  EXPECT_EQ(a.family(), AF_INET);
  EXPECT_EQ(a.to_string(), "10.1.2.3:8080");
  EXPECT_EQ(a.ip_string(), "10.1.2.3");
  uint8_t bytes[16];
  a.ip_bytes(bytes);
  const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 2, 3};
  EXPECT_EQ(std::memcmp(bytes, mapped, 16), 0);

  ASSERT_TRUE(make_address("[::1]", 443, a));
  EXPECT_EQ(a.family(), AF_INET6);
  EXPECT_EQ(a.to_string(), "[::1]:443");

  ASSERT_TRUE(make_address("", 80, a));
  EXPECT_EQ(a.to_string(), "0.0.0.0:80");

  EXPECT_FALSE(make_address("example.com", 80, a));
  EXPECT_FALSE(make_address("1.2.3.4.5", 80, a));
  EXPECT_FALSE(make_address("[1.2.3.4", 80, a));
}

}  // namespace
}  // namespace turnpike::net
