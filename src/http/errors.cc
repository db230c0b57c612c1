// SPEC §5 error table and its JSON rendering (see errors.h).
#include "http/errors.h"

#include <array>

#include "http/date.h"
#include "text/json_string.h"

namespace turnpike::http {
namespace {

struct Row {
  uint16_t status;
  std::string_view code;
  std::string_view message;
};

// Indexed by Error; SPEC §5 order.
constexpr std::array<Row, 12> kRows = {{
    {400, "bad_request", "malformed request"},
    {401, "unauthorized", "missing or invalid credentials"},
    {403, "forbidden", "access denied"},
    {404, "no_route", "no route matches"},
    {405, "method_not_allowed", "method not allowed"},
    {408, "request_timeout", "client too slow"},
    {413, "payload_too_large", "request body too large"},
    {429, "rate_limited", "rate limit exceeded"},
    {431, "headers_too_large", "request head too large"},
    {502, "bad_gateway", "upstream failed"},
    {503, "upstream_unavailable", "no healthy upstream"},
    {504, "gateway_timeout", "upstream timed out"},
}};

const Row& row(Error e) { return kRows[static_cast<std::size_t>(e)]; }

}  // namespace

uint16_t status_of(Error e) { return row(e).status; }
std::string_view code_of(Error e) { return row(e).code; }
std::string_view default_message(Error e) { return row(e).message; }

std::string_view reason_phrase(uint16_t status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

void append_json_escaped(std::string& out, std::string_view s) {
  text::append_json_escaped(out, s);
}

std::string error_body(Error e, std::string_view message, std::string_view request_id) {
  const Row& r = row(e);
  std::string body;
  body.reserve(96 + message.size() + request_id.size());
  body += "{\"error\":\"";
  body += r.code;
  body += "\",\"message\":\"";
  append_json_escaped(body, message.empty() ? r.message : message);
  body += "\",\"request_id\":\"";
  append_json_escaped(body, request_id);
  body += "\"}";
  return body;
}

void append_answer_start(std::string& out, uint16_t status, std::string_view content_type,
                         std::size_t content_length) {
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\nServer: turnpike\r\nDate: ";
  out += http_date_now();
  out += "\r\n";
  // 1xx and 204 have no content and state no length (RFC 9110 §8.6).
  if (status == 204 || status < 200) return;
  if (!content_type.empty()) {
    out += "Content-Type: ";
    out += content_type;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(content_length);
  out += "\r\n";
}

std::string render_error(Error e, std::string_view message, std::string_view request_id,
                         std::string_view extra_headers, bool close, bool head_only) {
  std::string body = error_body(e, message, request_id);
  std::string out;
  out.reserve(256 + extra_headers.size() + body.size());
  append_answer_start(out, status_of(e), "application/json", body.size());
  out += "X-Request-Id: ";
  out += request_id;
  out += "\r\n";
  out += extra_headers;
  if (close) out += "Connection: close\r\n";
  out += "\r\n";
  if (!head_only) out += body;
  return out;
}

}  // namespace turnpike::http
