// HTTP/1.x message heads: the end of a head is found first (HeadScanner), then llhttp parses the
// whole head in one call, so every header is one contiguous view into the buffer. Bodies are
// tracked, not copied: Content-Length by counting, chunked by ChunkedDecoder, which validates
// the framing while the raw bytes are forwarded as they arrived.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/chunked.h"
#include "http/headers.h"

namespace turnpike::http {

enum class Framing : uint8_t {
  kNone,           // no body
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding, ends with the last chunk and trailers
  kUntilClose,     // responses only: the body ends when the upstream closes
};

enum class HeadStatus : uint8_t {
  kIncomplete,  // no blank line yet: read more
  kComplete,    // the head is the first `length` bytes
  kMalformed,   // 400 (or 502 for a response)
  kTooLarge,    // over the size limit: 431 (or 502)
};

// Finds the end of a head ("\r\n\r\n") in bytes that grow between calls, rejecting a bare CR or
// LF as soon as it arrives instead of waiting for a terminator that never comes.
class HeadScanner {
 public:
  HeadStatus scan(std::string_view data, std::size_t max_length);
  std::size_t length() const { return length_; }  // valid after kComplete
  void reset() { scanned_ = length_ = 0; }

 private:
  std::size_t scanned_ = 0;
  std::size_t length_ = 0;
};

struct RequestHead {
  std::string_view method;
  std::string_view target;  // request-target as sent
  uint8_t version_minor = 1;
  HeaderList headers;
  std::size_t length = 0;  // bytes of the head, blank line included
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool expect_continue = false;
  bool websocket = false;  // Upgrade: websocket with Connection: upgrade
  bool connection_names_fields = false;  // Connection lists fields to drop (hop-by-hop)
  bool is_head = false;    // method HEAD: the response has no body
};

struct ResponseHead {
  uint16_t status = 0;
  std::string_view reason;
  uint8_t version_minor = 1;
  HeaderList headers;
  std::size_t length = 0;
  Framing framing = Framing::kNone;
  uint64_t content_length = 0;
  bool keep_alive = true;
  bool connection_names_fields = false;
};

// One message at a time: parse its head, then (for chunked bodies) feed it the body bytes.
class MessageParser {
 public:
  enum class Kind : uint8_t { kRequest, kResponse };
  explicit MessageParser(Kind kind);
  MessageParser(const MessageParser&) = delete;
  MessageParser& operator=(const MessageParser&) = delete;

  // `head` is exactly the bytes HeadScanner found. On failure returns kMalformed/kTooLarge and
  // error() says why.
  HeadStatus parse_request(std::string_view head, RequestHead& out);
  // `request_was_head`: a response to HEAD has no body whatever its headers say.
  HeadStatus parse_response(std::string_view head, bool request_was_head, ResponseHead& out);

  struct BodyProgress {
    std::size_t consumed = 0;  // bytes of `data` that belong to this message
    bool complete = false;     // the message ended within them
    bool error = false;        // malformed chunked framing (error() says why)
  };
  // Chunked bodies only, after parse_*: validates framing; decoded payload goes to `sink`.
  BodyProgress feed_chunked(const char* data, std::size_t length, BodySink sink = nullptr,
                            void* sink_context = nullptr);
  // Decoded payload bytes of the chunked body so far; whether its last chunk has been read.
  uint64_t chunked_payload_bytes() const { return chunked_.payload_bytes(); }
  bool chunked_complete() const { return chunked_.complete(); }

  const char* error() const { return error_; }

 private:
  friend struct ParserCallbacks;
  HeadStatus finish_head(std::string_view head);
  HeadStatus fail(const char* why);

  llhttp_t parser_;
  Kind kind_;
  HeaderList* headers_ = nullptr;
  std::string_view method_;
  std::string_view target_;
  std::string_view reason_;
  std::string_view field_;
  std::string_view value_;
  bool too_many_headers_ = false;
  ChunkedDecoder chunked_;
  const char* error_ = nullptr;
};

}  // namespace turnpike::http
