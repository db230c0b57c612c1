// Fuzz target: the chunked decoder (RFC 9112 §7.1). The first byte is a read size: the rest is
// decoded once whole and once in reads of that size, which must agree on where the message ends,
// whether it is malformed, and the payload (a body split anywhere decodes the same).
#include <string>

#include "fuzz_check.h"
#include "http/chunked.h"

namespace {

using namespace turnpike;
using fuzz::check;

void append(void* context, const char* data, std::size_t length) {
  static_cast<std::string*>(context)->append(data, length);
}

struct Outcome {
  std::size_t consumed = 0;
  bool complete = false;
  bool error = false;
  std::string payload;
  uint64_t payload_bytes = 0;
};

Outcome decode(std::string_view body, std::size_t read_size) {
  http::ChunkedDecoder decoder;
  Outcome out;
  for (std::size_t at = 0; at < body.size() && !out.complete && !out.error;) {
    std::size_t n = std::min(read_size, body.size() - at);
    auto progress = decoder.feed(body.data() + at, n, append, &out.payload);
    check(progress.consumed <= n, "the decoder consumes at most what it was given");
    out.consumed += progress.consumed;
    out.complete = progress.complete;
    out.error = progress.error != nullptr;
    if (!out.complete && !out.error) {
      check(progress.consumed == n, "an unfinished message consumes the whole read");
    }
    at += n;
  }
  out.payload_bytes = decoder.payload_bytes();
  check(out.complete == decoder.complete(), "complete() agrees with the last feed");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t read_size = data[0] == 0 ? 1 : data[0];
  std::string_view body = fuzz::as_text(data + 1, size - 1);
  Outcome whole = decode(body, body.size() == 0 ? 1 : body.size());
  Outcome pieces = decode(body, read_size);
  check(whole.payload.size() == whole.payload_bytes, "payload_bytes() counts the payload");
  check(whole.error == pieces.error, "a split body is malformed exactly when the whole one is");
  if (whole.error) return 0;
  check(whole.complete == pieces.complete, "a split body ends exactly when the whole one does");
  check(whole.payload == pieces.payload, "a split body has the same payload");
  if (whole.complete) check(whole.consumed == pieces.consumed, "and ends at the same byte");
  return 0;
}
