// What the two head targets share: a head written by the gateway's own writers (proxy/forward.h)
// into a buffer of its own, checked to be one whole head before anything else is asked of it.
#pragma once

#include <string>

#include "fuzz_check.h"
#include "http/parser.h"
#include "net/buffer.h"
#include "proxy/forward.h"

namespace turnpike::fuzz {

constexpr std::size_t kMaxHead = 32 * 1024;  // server.limits.max_header_bytes by default
constexpr std::string_view kRequestId = "0123456789abcdef0123456789abcdef";

// Calls write(HeadWriter&) on a buffer of `capacity` bytes; the head must fit, end with its
// blank line and hold no bare CR or LF.
template <typename Write>
std::string written_head(std::size_t capacity, Write&& write) {
  net::BufferPool pool(capacity, 1);
  net::BufferRef out = pool.acquire();
  proxy::HeadWriter w(*out);
  write(w);
  check(w.ok(), "the written head fits its buffer");
  std::string text(w.text());
  http::HeadScanner scanner;
  check(scanner.scan(text, 2 * capacity) == http::HeadStatus::kComplete &&
            scanner.length() == text.size(),
        "the written head is one whole head with no bare CR or LF");
  return text;
}

}  // namespace turnpike::fuzz
