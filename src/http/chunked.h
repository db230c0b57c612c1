// The chunked transfer coding (RFC 9112 §7.1), decoded strictly, one byte state at a time so that
// a body split anywhere across reads decodes the same. The gateway forwards chunked bodies as
// they arrived; this decoder validates the framing, finds where the message ends, counts the
// payload and can hand the payload to a sink.
#pragma once

#include <cstddef>
#include <cstdint>

namespace turnpike::http {

// Receives decoded body bytes (optional).
using BodySink = void (*)(void* context, const char* data, std::size_t length);

class ChunkedDecoder {
 public:
  struct Progress {
    std::size_t consumed = 0;  // bytes of the input that belong to this message
    bool complete = false;     // the message ended within them
    const char* error = nullptr;  // malformed framing: why
  };

  Progress feed(const char* data, std::size_t length, BodySink sink = nullptr,
                void* sink_context = nullptr);
  uint64_t payload_bytes() const { return payload_; }
  bool complete() const { return state_ == State::kDone; }
  void reset() { *this = ChunkedDecoder(); }

 private:
  enum class State : uint8_t {
    kSize,
    kSizeSpace,     // BWS after the size: only ';' may follow
    kExtStart,      // after ';': BWS then a name
    kExtName,
    kExtAfterName,  // BWS then '=', ';' or CR
    kExtValueStart,
    kExtToken,
    kExtAfterValue,  // BWS then ';' or CR
    kQuoted,
    kQuotedEscape,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailerName,
    kTrailer,
    kTrailerLf,
    kFinalLf,
    kDone,
  };
  State state_ = State::kSize;
  uint64_t size_ = 0;
  int digits_ = 0;
  std::size_t line_bytes_ = 0;     // size line / trailer section, bounded
  uint64_t payload_ = 0;
};

}  // namespace turnpike::http
