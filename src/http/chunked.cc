// Strict chunked decoding (see chunked.h).
#include "http/chunked.h"

#include <algorithm>

namespace turnpike::http {
namespace {

constexpr std::size_t kMaxSizeLine = 4096;  // chunk size plus extensions
constexpr std::size_t kMaxTrailers = 16 * 1024;

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' ||
         c == '+' || c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' ||
         c == '~';
}

// Field content: visible ASCII, obs-text, space and tab.
bool field_byte(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

}  // namespace

ChunkedDecoder::Progress ChunkedDecoder::feed(const char* data, std::size_t length,
                                              BodySink sink, void* sink_context) {
  Progress p;
  std::size_t i = 0;
  auto fail = [&](const char* why) {
    p.consumed = i;
    p.error = why;
    return p;
  };
  auto space = [](unsigned char ch) { return ch == ' ' || ch == '\t'; };
  // After an extension's name or value: CR ends the size line, ';' starts the next extension,
  // '=' (after a name only) starts a value. False for any other byte.
  auto end_of_item = [&](unsigned char ch, bool after_name) {
    if (ch == '\r') {
      state_ = State::kSizeLf;
    } else if (ch == ';') {
      state_ = State::kExtStart;
    } else if (after_name && ch == '=') {
      state_ = State::kExtValueStart;
    } else {
      return false;
    }
    return true;
  };
  while (i < length && state_ != State::kDone) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    switch (state_) {
      case State::kSize: {
        int v = hex_value(c);
        if (v >= 0) {
          if (digits_ >= 15) return fail("chunk size too large");
          size_ = size_ * 16 + static_cast<uint64_t>(v);
          ++digits_;
        } else if (digits_ == 0) {
          return fail("invalid chunk size");
        } else if (c == ';') {
          state_ = State::kExtStart;
        } else if (c == ' ' || c == '\t') {
          state_ = State::kSizeSpace;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else {
          return fail("invalid chunk size");
        }
        break;
      }
      // chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
      case State::kSizeSpace:
        if (c == ';') {
          state_ = State::kExtStart;
        } else if (!space(c)) {
          return fail("invalid chunk size");
        }
        break;
      case State::kExtStart:
        if (tchar(c)) {
          state_ = State::kExtName;
        } else if (!space(c)) {
          return fail("invalid chunk extension");
        }
        break;
      case State::kExtName:
        if (tchar(c)) break;
        if (space(c)) {
          state_ = State::kExtAfterName;
        } else if (!end_of_item(c, true)) {
          return fail("invalid chunk extension");
        }
        break;
      case State::kExtAfterName:
        if (!space(c) && !end_of_item(c, true)) return fail("invalid chunk extension");
        break;
      case State::kExtValueStart:
        if (c == '"') {
          state_ = State::kQuoted;
        } else if (tchar(c)) {
          state_ = State::kExtToken;
        } else if (!space(c)) {
          return fail("invalid chunk extension");
        }
        break;
      case State::kExtToken:
        if (tchar(c)) break;
        if (space(c)) {
          state_ = State::kExtAfterValue;
        } else if (!end_of_item(c, false)) {
          return fail("invalid chunk extension");
        }
        break;
      case State::kExtAfterValue:
        if (!space(c) && !end_of_item(c, false)) return fail("invalid chunk extension");
        break;
      case State::kQuoted:
        if (c == '"') {
          state_ = State::kExtAfterValue;
        } else if (c == '\\') {
          state_ = State::kQuotedEscape;
        } else if (!field_byte(c)) {
          return fail("invalid chunk extension");
        }
        break;
      case State::kQuotedEscape:
        if (!field_byte(c)) return fail("invalid chunk extension");
        state_ = State::kQuoted;
        break;
      case State::kSizeLf:
        if (c != '\n') return fail("chunk size line not ended by CRLF");
        line_bytes_ = 0;
        state_ = size_ == 0 ? State::kTrailerStart : State::kData;
        break;
      case State::kData: {
        std::size_t take = static_cast<std::size_t>(std::min<uint64_t>(size_, length - i));
        if (sink) sink(sink_context, data + i, take);
        payload_ += take;
        size_ -= take;
        i += take;
        if (size_ == 0) state_ = State::kDataCr;
        continue;
      }
      case State::kDataCr:
        if (c != '\r') return fail("chunk data not followed by CRLF");
        state_ = State::kDataLf;
        break;
      case State::kDataLf:
        if (c != '\n') return fail("chunk data not followed by CRLF");
        digits_ = 0;
        line_bytes_ = 0;
        state_ = State::kSize;
        break;
      case State::kTrailerStart:
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (tchar(c)) {
          state_ = State::kTrailerName;
        } else {
          return fail("invalid trailer field");  // includes obs-fold
        }
        break;
      case State::kTrailerName:
        if (c == ':') {
          state_ = State::kTrailer;
        } else if (!tchar(c)) {
          return fail("invalid trailer field");
        }
        break;
      case State::kTrailer:
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (!field_byte(c)) {
          return fail("invalid trailer field");
        }
        break;
      case State::kTrailerLf:
        if (c != '\n') return fail("trailer field not ended by CRLF");
        state_ = State::kTrailerStart;
        break;
      case State::kFinalLf:
        if (c != '\n') return fail("chunked body not ended by CRLF");
        state_ = State::kDone;
        break;
      case State::kDone:
        break;
    }
    ++i;
    if (state_ < State::kSizeLf) {
      if (++line_bytes_ > kMaxSizeLine) return fail("chunk size line too long");
    } else if (state_ >= State::kTrailerStart && state_ <= State::kTrailerLf) {
      if (++line_bytes_ > kMaxTrailers) return fail("trailer section too large");
    }
  }
  p.consumed = i;
  p.complete = state_ == State::kDone;
  return p;
}

}  // namespace turnpike::http
