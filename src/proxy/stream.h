// Bodies in motion: the request body from client to upstream and the response from upstream to
// client, through one bounded buffer per direction, in the framing each side needs.
#pragma once

#include <cstddef>

#include "http/parser.h"
#include "net/buffer.h"
#include "net/task.h"
#include "proxy/exchange.h"

namespace turnpike::proxy {

// Ensures `buffer` has free space, compacting it or moving its bytes to a larger buffer of at
// most `max_capacity` bytes. False when it is full at that size.
bool make_room(net::BufferPool& pool, net::BufferRef& buffer, std::size_t max_capacity);

// Accounts for the body bytes that arrived with the head (they sit after it in the client
// buffer): how many belong to the body, whether the body is complete, whether it is too large.
// Decoded payload bytes go to `sink` when given.
Failure note_buffered_body(Exchange& x, http::BodySink sink = nullptr, void* sink_context = nullptr);

// The next piece of the request body from the client (raw bytes as framed on the wire); sends
// "100 Continue" first when the client asked for it. Decoded payload goes to `sink`.
struct BodyPiece {
  const char* data = nullptr;
  std::size_t length = 0;
  Failure failure = Failure::kNone;
};
net::Task<BodyPiece> read_body_piece(Exchange& x, http::BodySink sink = nullptr,
                                     void* sink_context = nullptr);
// Marks a piece as forwarded so that its bytes leave the client buffer.
void consume_body_piece(Exchange& x, const BodyPiece& piece);

// Streams the rest of the request body to the upstream.
net::Task<Failure> stream_request_body(Exchange& x);

// Sends the response head and streams the body to the client; the upstream connection goes back
// to the pool when it can carry another request.
net::Task<Failure> stream_response(Exchange& x);

}  // namespace turnpike::proxy
