// Fuzz target: the W3C traceparent parser (SPEC §4). A value it accepts has lower-case hex ids
// that are not all zeros, version 00 is exactly 55 characters, and what the gateway formats from
// it parses back to the same trace, parent and sampled flag (the only flag it forwards).
#include <string_view>

#include "fuzz_check.h"
#include "observe/trace.h"

namespace {

using namespace turnpike;
using fuzz::check;

bool lower_hex(std::string_view s) {
  return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

bool all_zeros(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  std::string_view value = fuzz::as_text(data, size);
  observe::TraceContext trace;
  if (!observe::parse_traceparent(value, trace)) return 0;
  check(trace.continued, "an accepted traceparent continues its trace");
  check(lower_hex(trace.trace()) && lower_hex(trace.parent()), "ids are lower-case hex");
  check(!all_zeros(trace.trace()) && !all_zeros(trace.parent()), "ids are not all zeros");
  if (value.starts_with("00")) check(value.size() == 55, "version 00 is 55 characters");

  // What goes upstream: the same trace, with the parent standing in for the gateway's span.
  trace.span_id = trace.parent_id;
  char formatted[55];
  observe::format_traceparent(trace, formatted);
  observe::TraceContext back;
  check(observe::parse_traceparent(std::string_view(formatted, sizeof(formatted)), back),
        "the formatted traceparent parses");
  check(back.trace() == trace.trace() && back.parent() == trace.parent() &&
            back.flags == (trace.flags & 1),
        "and carries the same trace, span and sampled flag");
  return 0;
}
