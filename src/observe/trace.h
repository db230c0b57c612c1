// W3C trace context (traceparent / tracestate): the gateway continues an incoming trace with a
// new span of its own, or starts a new trace when there is none or it is malformed.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace turnpike::observe {

struct TraceContext {
  std::array<char, 32> trace_id{};   // lower-case hex
  std::array<char, 16> parent_id{};  // the caller's span, when continued
  std::array<char, 16> span_id{};    // the gateway's span
  uint8_t flags = 0;                 // bit 0: sampled
  bool continued = false;            // the trace came from a valid incoming traceparent

  std::string_view trace() const { return {trace_id.data(), trace_id.size()}; }
  std::string_view span() const { return {span_id.data(), span_id.size()}; }
  std::string_view parent() const { return {parent_id.data(), parent_id.size()}; }
  bool sampled() const { return flags & 1; }
  bool started() const { return trace_id[0] != 0; }  // false: no request head was parsed
};

// Parses a traceparent header value. Version 00 must be exactly 55 characters; a higher version
// is read by its first four fields (as the W3C spec asks); version ff, upper-case hex and
// all-zero ids are invalid.
bool parse_traceparent(std::string_view value, TraceContext& out);

// "00-<trace>-<span>-<flags>": what the gateway forwards (55 characters).
void format_traceparent(const TraceContext& t, char out[55]);

// Writes 16 (from `a`) or 32 (from `a` and `b`) lower-case hex digits: `n` is 16 or 32.
void random_hex(char* out, std::size_t n, uint64_t a, uint64_t b);

}  // namespace turnpike::observe
