// HTTP/1.1 from clients: the connection codec. It reads request heads (header_timeout,
// max_header_bytes), keeps the connection alive between requests, frames bodies in both
// directions, answers "100 Continue", and hands each parsed request to the protocol-neutral
// exchange (exchange.h) through the ClientStream it implements.
#pragma once

#include <memory>
#include <string>

#include "http/parser.h"
#include "net/buffer.h"
#include "net/socket.h"
#include "net/task.h"
#include "net/timers.h"
#include "net/tls.h"
#include "net/transport.h"
#include "proxy/client_stream.h"

namespace turnpike::proxy {

class Engine;
struct Exchange;

// One accepted client connection. It outlives its requests; while idle it holds no buffer.
class ClientConnection final : public net::ReadinessListener {
 public:
  ClientConnection(Engine& engine, net::Socket socket, const net::Address& peer,
                   const std::string& listener);
  ~ClientConnection();
  ClientConnection(const ClientConnection&) = delete;
  ClientConnection& operator=(const ClientConnection&) = delete;

  Engine& engine;
  net::Socket socket;
  std::unique_ptr<net::TlsTransport> tls;  // on a TLS listener
  net::Transport* transport = &net::plain_transport();  // every read and write goes through it
  net::Address peer;
  const std::string& listener;
  net::BufferRef buffer;  // held from the first byte of a request to the end of its response
  net::Deadline deadline;  // bounds the current wait on the client (header, idle, body, write)
  Exchange* exchange = nullptr;  // the request whose client must stay (a hang-up cancels it)
  Exchange* current = nullptr;   // the request being served, if any
  bool idle = false;             // waiting for the next request (drain closes these)
  uint32_t requests = 0;

  // Engine registry (drain walks it).
  ClientConnection* prev = nullptr;
  ClientConnection* next = nullptr;

 private:
  // A hang-up while the request is with the upstream cancels the upstream exchange.
  void on_readiness(uint32_t epoll_events) override;
  static void on_deadline(void* self);
};

// Serves the accepted, non-blocking descriptor `fd` until either side ends the connection.
net::Task<void> serve(Engine& engine, int fd, net::Address peer, const std::string& listener);

}  // namespace turnpike::proxy
