// HttpClient against a canned HTTP/1.1 server on 127.0.0.1 (a thread that answers each
// connection with the bytes the test gives): bodies, fields, limits, streaming, cancellation,
// timeouts and refused connections.
#include "net/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <string>
#include <thread>

namespace turnpike::net {
namespace {

using namespace std::chrono_literals;

// Accepts connections until destroyed; reads each request head, then writes `answer` (after
// `delay`) and closes. Remembers the last request head.
class CannedServer {
 public:
  explicit CannedServer(std::string answer, std::chrono::milliseconds delay = 0ms)
      : answer_(std::move(answer)), delay_(delay) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~CannedServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        head.append(buf, n);
      }
      {
        std::lock_guard lock(mutex_);
        last_ = head;
      }
      std::this_thread::sleep_for(delay_);
      send(c, answer_.data(), answer_.size(), MSG_NOSIGNAL);
      close(c);
    }
  }

  std::string answer_;
  std::chrono::milliseconds delay_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string last_;
  std::thread thread_;
};

TEST(HttpClientTest, FetchesBodyStatusAndFields) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing: yes\r\n\r\nhello");
  HttpClient client;
  FetchRequest r;
  r.url = server.url("/keys");
  r.headers.push_back("X-Token: abc");
  FetchResponse got = client.fetch(r);
  EXPECT_TRUE(got.ok()) << got.describe();
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "hello");
  EXPECT_EQ(got.header("x-thing"), "yes");
  EXPECT_NE(server.last_request().find("GET /keys HTTP/1.1"), std::string::npos);
  EXPECT_NE(server.last_request().find("X-Token: abc"), std::string::npos);
}

TEST(HttpClientTest, AnErrorStatusIsNotOkButHasItsBody) {
  CannedServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope");
  HttpClient client;
  FetchRequest r;
  r.url = server.url();
  FetchResponse got = client.fetch(r);
  EXPECT_FALSE(got.ok());
  EXPECT_TRUE(got.error.empty());
  EXPECT_EQ(got.status, 404);
  EXPECT_EQ(got.body, "nope");
  EXPECT_EQ(got.describe(), "HTTP 404");
}

TEST(HttpClientTest, PostsItsBody) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
  HttpClient client;
  FetchRequest r;
  r.method = "POST";
  r.url = server.url("/v3/kv/range");
  r.body = "{\"key\":\"a\"}";
  FetchResponse got = client.fetch(r);
  EXPECT_TRUE(got.ok()) << got.describe();
  EXPECT_NE(server.last_request().find("POST /v3/kv/range"), std::string::npos);
  EXPECT_NE(server.last_request().find("Content-Length: 11"), std::string::npos);
}

TEST(HttpClientTest, ABodyOverTheLimitIsAnError) {
  std::string big(100'000, 'x');
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + big);
  HttpClient client;
  FetchRequest r;
  r.url = server.url();
  r.max_body = 1000;
  FetchResponse got = client.fetch(r);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(got.error, "response larger than 1000 bytes");
}

TEST(HttpClientTest, StreamsPiecesWhenAskedAndKeepsNoBody) {
  CannedServer server("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n");
  HttpClient client;
  std::string seen;
  FetchRequest r;
  r.url = server.url();
  r.on_data = [&seen](std::string_view piece) {
    seen.append(piece);
    return true;
  };
  FetchResponse got = client.fetch(r);
  EXPECT_TRUE(got.ok()) << got.describe();
  EXPECT_EQ(seen, "abcdef");
  EXPECT_TRUE(got.body.empty());
}

TEST(HttpClientTest, ARefusedConnectionIsAnError) {
  int port;
  {
    CannedServer gone("");
    port = std::stoi(gone.url().substr(17));
  }
  HttpClient client;
  FetchRequest r;
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  FetchResponse got = client.fetch(r);
  EXPECT_FALSE(got.ok());
  EXPECT_EQ(got.status, 0);
  EXPECT_FALSE(got.error.empty());
}

TEST(HttpClientTest, ASlowServerTimesOut) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2000ms);
  HttpClient client;
  FetchRequest r;
  r.url = server.url();
  r.timeout = 200ms;
  auto started = std::chrono::steady_clock::now();
  FetchResponse got = client.fetch(r);
  EXPECT_FALSE(got.ok());
  EXPECT_NE(got.error.find("timed out"), std::string::npos) << got.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1500ms);
}

TEST(HttpClientTest, CancelEndsATransferWithCancelled) {
  CannedServer server("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2000ms);
  HttpClient client;
  std::promise<FetchResponse> result;
  FetchRequest r;
  r.url = server.url();
  uint64_t id = client.start(r, [&result](FetchResponse got) { result.set_value(std::move(got)); });
  std::this_thread::sleep_for(50ms);
  client.cancel(id);
  auto future = result.get_future();
  ASSERT_EQ(future.wait_for(1s), std::future_status::ready);
  EXPECT_EQ(future.get().error, "cancelled");
}

TEST(HttpClientTest, OnlyHttpAndHttpsUrls) {
  HttpClient client;
  FetchRequest r;
  r.url = "file:///etc/passwd";
  FetchResponse got = client.fetch(r);
  EXPECT_FALSE(got.ok());
  EXPECT_TRUE(got.body.empty());
  EXPECT_FALSE(got.error.empty());
}

}  // namespace
}  // namespace turnpike::net
