// The control plane's HTTP server (see http_server.h).
#include "admin/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

#include "http/date.h"
#include "http/errors.h"
#include "http/parser.h"
#include "text/url.h"

namespace turnpike::admin {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

void parse_query(std::string_view query, std::map<std::string, std::string>& out) {
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t eq = pair.find('=');
    std::string key = text::url_decode(pair.substr(0, eq));
    std::string value =
        eq == std::string_view::npos ? "" : text::url_decode(pair.substr(eq + 1));
    if (!key.empty()) out[key] = value;
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

std::string render(const Response& r, bool close) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " +
                    std::string(http::reason_phrase(static_cast<uint16_t>(r.status))) +
                    "\r\nServer: turnpike-admin\r\nDate: " + std::string(http::http_date_now()) +
                    "\r\nContent-Type: " + r.content_type +
                    "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\n";
  for (const auto& [name, value] : r.headers) out += name + ": " + value + "\r\n";
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  out += r.body;
  return out;
}

Response error_response(int status, std::string_view code, std::string_view message) {
  Response r;
  r.status = status;
  r.body = "{\"error\":\"" + std::string(code) + "\",\"message\":\"";
  http::append_json_escaped(r.body, message);
  r.body += "\"}";
  return r;
}

}  // namespace

std::string Request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct HttpServer::Connection {
  explicit Connection(net::Socket s) : socket(std::move(s)), deadline(this, &on_deadline) {}
  static void on_deadline(void* self) { static_cast<Connection*>(self)->socket.abort(); }
  net::Socket socket;
  net::Deadline deadline;
  bool idle = false;
};

HttpServer::HttpServer(net::Loop& loop, Handler handler, Limits limits)
    : loop_(loop), handler_(std::move(handler)), limits_(limits) {}

HttpServer::~HttpServer() = default;

std::string HttpServer::listen(const std::string& host, uint16_t port) {
  net::Address address;
  if (!net::make_address(host, port, address)) return "invalid admin address \"" + host + "\"";
  if (port != 0) {  // port 0 (tests): the kernel picks a free one, nobody else can hold it
    if (std::string error = claim_.claim(address); !error.empty()) return error;
  }
  int fd = -1;
  std::string error = net::listen_on(address, fd, /*reuse_port=*/false);
  if (!error.empty()) {
    claim_.release();
    return error;
  }
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
  port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                           : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  listener_ = std::make_unique<net::Socket>(loop_, fd);
  net::spawn(accept_loop());
  return {};
}

void HttpServer::stop() {
  stopped_ = true;
  claim_.release();
  if (listener_) listener_->abort();
  for (Connection* c : connections_) {
    if (c->idle) c->socket.abort();
  }
}

net::Task<void> HttpServer::accept_loop() {
  net::Socket& listener = *listener_;
  while (!stopped_) {
    int fd = ::accept4(listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      int one = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      net::spawn(serve(fd));
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      listener.clear_readable();
      if (!co_await listener.readable()) break;
      continue;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    co_await net::sleep(loop_, net::Duration(50));
  }
  listener.close();
}

namespace {

// Reads what the peer sends next and appends it to `buffer`; false when the connection ended
// (or its deadline passed).
net::Task<bool> read_more(net::Socket& socket, std::string& buffer) {
  char chunk[16 * 1024];
  net::IoResult r = co_await net::read_some(socket, chunk, sizeof(chunk));
  if (!r.ok()) co_return false;
  buffer.append(chunk, r.bytes);
  co_return true;
}

net::Task<bool> send(net::Socket& socket, const Response& response, bool close) {
  std::string out = render(response, close);
  iovec iov{out.data(), out.size()};
  net::IoResult r = co_await net::write_all(socket, &iov, 1);
  co_return r.ok();
}

}  // namespace

// One connection: requests read whole (head, then body within limits), answered in order.
net::Task<void> HttpServer::serve(int fd) {
  Connection conn(net::Socket(loop_, fd));
  if (!conn.socket.valid()) co_return;
  connections_.push_back(&conn);
  std::string buffer;
  bool keep_alive = true;
  while (keep_alive && !stopped_) {
    if (buffer.empty()) {
      net::ScopedDeadline idle(loop_.timers(), conn.deadline, limits_.idle_timeout);
      conn.idle = true;
      bool ready = co_await conn.socket.readable();
      conn.idle = false;
      if (!ready) break;
    }
    net::ScopedDeadline deadline(loop_.timers(), conn.deadline, limits_.read_timeout);

    // The head.
    http::HeadScanner scanner;
    http::HeadStatus status = http::HeadStatus::kIncomplete;
    while ((status = buffer.empty() ? status : scanner.scan(buffer, limits_.max_head_bytes)) ==
           http::HeadStatus::kIncomplete) {
      if (!co_await read_more(conn.socket, buffer)) break;
    }
    if (status == http::HeadStatus::kIncomplete) break;  // the peer went away
    auto head = std::make_unique<http::RequestHead>();
    http::MessageParser parser(http::MessageParser::Kind::kRequest);
    if (status == http::HeadStatus::kComplete) {
      status = parser.parse_request(std::string_view(buffer).substr(0, scanner.length()), *head);
    }
    if (status != http::HeadStatus::kComplete) {
      co_await send(conn.socket,
                    status == http::HeadStatus::kTooLarge
                        ? error_response(431, "headers_too_large", "request head too large")
                        : error_response(400, "bad_request", "malformed request"),
                    true);
      break;
    }
    // Copied out of `buffer` now: reading the body may reallocate it.
    Request request;
    request.method = std::string(head->method);
    std::string_view target = head->target;
    std::size_t q = target.find('?');
    request.path = text::url_decode(target.substr(0, q));
    if (q != std::string_view::npos) parse_query(target.substr(q + 1), request.query);
    for (const http::Header& h : head->headers) {
      std::string& value = request.headers[lower(h.name)];
      if (!value.empty()) value += ", ";
      value += h.value;
    }
    const uint64_t content_length = head->content_length;
    const http::Framing framing = head->framing;
    const std::size_t head_length = head->length;
    const bool expect_continue = head->expect_continue;
    keep_alive = head->keep_alive;
    head.reset();

    // The body, whole (bounded).
    const char* refused = nullptr;
    std::size_t consumed = head_length;
    if (framing == http::Framing::kContentLength && content_length > limits_.max_body_bytes) {
      refused = "request body too large";
    } else if (framing != http::Framing::kNone) {
      if (expect_continue && buffer.size() == head_length) {
        static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
        iovec iov{const_cast<char*>(kContinue), sizeof(kContinue) - 1};
        co_await net::write_all(conn.socket, &iov, 1);
      }
      if (framing == http::Framing::kContentLength) {
        bool complete = true;
        while (complete && buffer.size() - head_length < content_length) {
          complete = co_await read_more(conn.socket, buffer);
        }
        if (!complete) break;
        request.body = buffer.substr(head_length, content_length);
        consumed += content_length;
      } else {
        auto sink = [](void* out, const char* data, std::size_t n) {
          static_cast<std::string*>(out)->append(data, n);
        };
        for (;;) {
          auto progress = parser.feed_chunked(buffer.data() + consumed, buffer.size() - consumed,
                                              sink, &request.body);
          consumed += progress.consumed;
          if (progress.error) {
            refused = "malformed chunked body";
            break;
          }
          if (request.body.size() > limits_.max_body_bytes) {
            refused = "request body too large";
            break;
          }
          if (progress.complete) break;
          if (!co_await read_more(conn.socket, buffer)) break;
        }
        if (!refused && !parser.chunked_complete()) break;  // the peer went away
      }
    }
    if (refused) {
      bool too_large = std::string_view(refused) == "request body too large";
      co_await send(conn.socket,
                    error_response(too_large ? 413 : 400,
                                   too_large ? "payload_too_large" : "bad_request", refused),
                    true);
      break;
    }
    buffer.erase(0, consumed);
    keep_alive = keep_alive && !stopped_;
    Response response = co_await handler_(request);
    if (!co_await send(conn.socket, response, !keep_alive)) break;
  }
  connections_.erase(std::remove(connections_.begin(), connections_.end(), &conn),
                     connections_.end());
}

}  // namespace turnpike::admin
