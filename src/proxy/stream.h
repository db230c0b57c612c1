// Bodies in motion: the request body from the client stream to the upstream and the response from
// the upstream to the client stream, through one bounded buffer per direction, in the framing
// each side needs.
#pragma once

#include <cstddef>

#include "net/buffer.h"
#include "net/task.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Ensures `buffer` has free space, compacting it or moving its bytes to a larger buffer of at
// most `max_capacity` bytes. False when it is full at that size.
bool make_room(net::BufferPool& pool, net::BufferRef& buffer, std::size_t max_capacity);

// Streams the rest of the request body to the upstream.
net::Task<Failure> stream_request_body(Exchange& x);

// Sends the response head and streams the body to the client; the upstream connection goes back
// to the pool when it can carry another request.
net::Task<Failure> stream_response(Exchange& x);

}  // namespace turnpike::proxy
