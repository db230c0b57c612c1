// The gateway's own error responses (SPEC §5): one table of status, error code and default
// message, rendered as JSON with the request id.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace turnpike::http {

enum class Error : uint8_t {
  kBadRequest,
  kUnauthorized,
  kForbidden,
  kNoRoute,
  kMethodNotAllowed,
  kRequestTimeout,
  kPayloadTooLarge,
  kRateLimited,
  kHeadersTooLarge,
  kBadGateway,
  kUpstreamUnavailable,
  kGatewayTimeout,
};

uint16_t status_of(Error e);
std::string_view code_of(Error e);             // "no_route"
std::string_view default_message(Error e);     // "no route matches"
std::string_view reason_phrase(uint16_t status);  // "Not Found"

// Appends `s` to `out` as the inside of a JSON string (quotes not included).
void append_json_escaped(std::string& out, std::string_view s);

// The JSON body of an error answer: {"error":..,"message":..,"request_id":..} (`message` empty:
// the default message).
std::string error_body(Error e, std::string_view message, std::string_view request_id);

// The start of a head the gateway writes itself: status line, Server, Date, then Content-Type
// (when not empty) and Content-Length unless the status has no content (1xx, 204).
void append_answer_start(std::string& out, uint16_t status, std::string_view content_type,
                         std::size_t content_length);

// A complete HTTP/1.1 response: status line, Content-Type: application/json, Content-Length,
// X-Request-Id, Date, `extra_headers` (each line ending in CRLF), Connection: close when
// `close`, and the body {"error":..,"message":..,"request_id":..}. For a HEAD request
// (`head_only`) the head alone: its Content-Length states what a GET would have carried
// (RFC 9110 §9.3.2), and no byte of content follows it.
std::string render_error(Error e, std::string_view message, std::string_view request_id,
                         std::string_view extra_headers, bool close, bool head_only);

}  // namespace turnpike::http
