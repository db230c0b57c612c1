// A client connection's life: requests one after another, each routed and proxied.
#pragma once

#include <string>

#include "net/socket.h"
#include "net/task.h"

namespace turnpike::proxy {

class Engine;

// Serves the accepted, non-blocking descriptor `fd` until either side ends the connection.
net::Task<void> serve(Engine& engine, int fd, net::Address peer, const std::string& listener);

}  // namespace turnpike::proxy
