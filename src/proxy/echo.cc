// builtin:echo (see echo.h).
#include "proxy/echo.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "http/errors.h"
#include "proxy/answer.h"
#include "proxy/engine.h"
#include "proxy/forward.h"

namespace turnpike::proxy {
namespace {

constexpr std::size_t kEchoedBodyBytes = 64 * 1024;

struct EchoBody {
  std::string text;
  static void sink(void* self, const char* data, std::size_t length) {
    auto* b = static_cast<EchoBody*>(self);
    std::size_t room = kEchoedBodyBytes - std::min(kEchoedBodyBytes, b->text.size());
    b->text.append(data, std::min(room, length));
  }
};

void add_field(std::string& json, std::string_view name, std::string_view value, bool quote = true) {
  json += '"';
  json += name;
  json += "\":";
  if (quote) {
    json += '"';
    http::append_json_escaped(json, value);
    json += '"';
  } else {
    json += value;
  }
  json += ',';
}

// The head an upstream would have received, parsed back: the echo shows exactly that.
std::string forwarded_headers_json(Exchange& x) {
  HeadWriter w(head_buffer(x, x.request.length + 2 * x.forwarded_path.size() + 2 * x.host.size() +
                                  edit_bytes(x.plugins, true) + 1024));
  write_upstream_head(x, w, "builtin:echo");
  if (!w.ok()) return "{}";
  std::string head(w.text());
  http::MessageParser parser(http::MessageParser::Kind::kRequest);
  auto forwarded = std::make_unique<http::RequestHead>();
  if (parser.parse_request(head, *forwarded) != http::HeadStatus::kComplete) return "{}";
  std::map<std::string, std::string> fields;  // lower-case names, repeated fields joined
  for (const http::Header& h : forwarded->headers) {
    std::string name(h.name);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string& value = fields[name];
    if (!value.empty()) value += ", ";
    value += h.value;
  }
  std::string json = "{";
  for (const auto& [name, value] : fields) add_field(json, name, value);
  if (json.back() == ',') json.pop_back();
  json += '}';
  return json;
}

}  // namespace

net::Task<bool> serve_echo(Exchange& x) {
  EchoBody body;
  if (Failure f = x.client.take_early_body(x, &EchoBody::sink, &body); f != Failure::kNone) {
    co_return co_await answer_failure(x, f);
  }
  while (!x.body_complete) {
    BodyPiece piece = co_await x.client.read_body(x, &EchoBody::sink, &body);
    if (piece.failure != Failure::kNone) co_return co_await answer_failure(x, piece.failure);
    x.client.consume_body(x, piece);
  }

  std::string json = "{";
  add_field(json, "method", x.request.method);
  add_field(json, "path", x.forwarded_path);
  add_field(json, "query", x.query);
  add_field(json, "http_version", x.request.version_minor == 0 ? "1.0" : "1.1");
  add_field(json, "host", x.host);
  add_field(json, "route", x.route->spec->name);
  add_field(json, "request_id", x.request_id);
  add_field(json, "client_ip", client_ip(x));
  add_field(json, "headers", forwarded_headers_json(x), false);
  add_field(json, "body_bytes", std::to_string(x.body_received), false);
  add_field(json, "body", body.text);
  json.back() = '}';
  json += '\n';

  co_return co_await write_answer(x, 200, "application/json", json, {});
}

}  // namespace turnpike::proxy
