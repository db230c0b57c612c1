// A small HTTP/1.1 server for the control plane (the admin API), running on the control thread's
// loop, never on a worker. Requests are read whole (bounded), answered by one synchronous
// handler, with keep-alive and a deadline on every wait.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/address_claim.h"
#include "net/loop.h"
#include "net/socket.h"
#include "net/task.h"

namespace turnpike::admin {

struct Request {
  std::string method;
  std::string path;  // without the query
  std::map<std::string, std::string> query;  // decoded
  std::map<std::string, std::string> headers;  // names lower-cased; repeated fields joined ", "
  std::string body;
  std::string header(const std::string& lower_name) const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Runs on the control thread; may await (e.g. gathering the workers' metrics).
using Handler = std::function<net::Task<Response>(const Request&)>;

class HttpServer {
 public:
  struct Limits {
    std::size_t max_head_bytes = 32 * 1024;
    std::size_t max_body_bytes = 16 * 1024 * 1024;
    net::Duration read_timeout = net::Duration(10000);
    net::Duration idle_timeout = net::Duration(60000);
  };

  HttpServer(net::Loop& loop, Handler handler, Limits limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Claims and binds "ip:port", without SO_REUSEPORT: an admin address is never shared, so a
  // request cannot land in another process. Empty string on success, otherwise why not.
  std::string listen(const std::string& host, uint16_t port);
  // Stops accepting and closes idle connections.
  void stop();
  uint16_t port() const { return port_; }

 private:
  struct Connection;
  net::Task<void> accept_loop();
  net::Task<void> serve(int fd);

  net::Loop& loop_;
  Handler handler_;
  Limits limits_;
  net::AddressClaim claim_;
  std::unique_ptr<net::Socket> listener_;
  uint16_t port_ = 0;
  bool stopped_ = false;
  std::vector<Connection*> connections_;
};

}  // namespace turnpike::admin
