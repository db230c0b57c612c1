// The plugin interface (SPEC §3): phases with defaults, a typed verdict, and the narrow view of
// one exchange a plugin is given (the request, the response status, header edits, the body
// limit). A plugin never sees a socket; it is built once per snapshot from its immutable config.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "http/errors.h"
#include "http/headers.h"
#include "net/cancel.h"
#include "net/loop.h"
#include "net/task.h"

namespace turnpike::plugins {

// Bytes a plugin computes for one exchange (a header value made from the request): they live as
// long as the exchange. The first 512 bytes need no allocation.
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  std::string_view copy(std::string_view text);

 private:
  char inline_[512];
  std::size_t used_ = 0;
  std::vector<std::unique_ptr<char[]>> blocks_;
};

// Changes to one message's header fields, applied when its head is written. Names compare
// case-insensitively. Values must outlive the exchange (config text, the request's own bytes, or
// the exchange's Arena). Edits never reach the framing or the fields the gateway writes itself:
// configuration refuses such names (see protected_header()).
class HeaderEdits {
 public:
  enum class Op : uint8_t { kSet, kAdd, kRemove };
  struct Edit {
    Op op;
    std::string_view name;
    std::string_view value;
  };

  void set(std::string_view name, std::string_view value) { push({Op::kSet, name, value}); }
  void add(std::string_view name, std::string_view value) { push({Op::kAdd, name, value}); }
  void remove(std::string_view name) { push({Op::kRemove, name, {}}); }

  bool empty() const { return size_ == 0; }
  // An upper bound of the bytes the edits' lines take in a head.
  std::size_t line_bytes() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < size_; ++i) n += at(i).name.size() + at(i).value.size() + 4;
    return n;
  }
  // True when a field of the original message named `name` is not kept (a set or a remove).
  bool drops(std::string_view name) const;
  // The lines to write after the kept fields: every add, and the last set of each name unless a
  // later remove took it away.
  template <typename Fn>
  void for_each_line(Fn&& fn) const {
    for (std::size_t i = 0; i < size_; ++i) {
      const Edit& e = at(i);
      if (e.op == Op::kRemove || superseded(i)) continue;
      fn(e.name, e.value);
    }
  }

 private:
  // The first edits live inline: a request with a few edits allocates nothing.
  static constexpr std::size_t kInline = 8;
  void push(const Edit& e) {
    if (size_ < kInline) {
      inline_[size_] = e;
    } else {
      more_.push_back(e);
    }
    ++size_;
  }
  const Edit& at(std::size_t i) const { return i < kInline ? inline_[i] : more_[i - kInline]; }
  bool superseded(std::size_t i) const;  // a later set or remove of the same name

  Edit inline_[kInline];
  std::vector<Edit> more_;
  std::size_t size_ = 0;
};

// A header name no edit may touch: framing, hop-by-hop fields, Host and the fields the gateway
// writes itself (X-Forwarded-*, X-Request-Id, traceparent). Null, or why.
const char* protected_header(std::string_view name);

// What a plugin sees of one exchange.
struct Context {
  // The request, as routed.
  std::string_view method;
  std::string_view host;   // as sent (Host or absolute-form authority)
  std::string_view path;   // normalized
  std::string_view query;
  const http::HeaderList* headers = nullptr;
  std::string_view client_ip;  // the address the gateway believes (trusted_proxies applied)
  // The same address as 16 bytes (IPv4 mapped into ::ffff:0:0/96, as config::Cidr holds
  // addresses); unknown when X-Forwarded-For from a trusted proxy names no IP literal.
  std::array<uint8_t, 16> client_address{};
  bool client_address_known = false;
  // The consumer an authentication plugin named (key_auth, jwt); empty when none did.
  std::string_view consumer;
  bool has_body = false;
  bool length_known = false;   // Content-Length framing: content_length is the body's size
  uint64_t content_length = 0;

  // The response phase: the status about to be written (the upstream's or the gateway's own).
  uint16_t status = 0;

  HeaderEdits request_headers;   // upstream-bound
  HeaderEdits response_headers;  // client-bound, on every response the exchange gets
  uint64_t body_limit = UINT64_MAX;  // request body bytes allowed (413 above)
  Arena arena;

  // For a plugin's wait(): the worker's loop (results from elsewhere arrive through it) and the
  // exchange's cancellation, with which every wait must register (net::Watch) so that the route
  // deadline and the client leaving end it.
  net::Loop* loop = nullptr;
  net::Cancellation* cancel = nullptr;

  // The first request field with this name (case-insensitive), if any.
  const http::Header* header(std::string_view name) const { return headers->find(name); }
};

// What the request phase decided.
struct Verdict {
  enum class Kind : uint8_t {
    kContinue,  // the next plugin, then the upstream
    kRefuse,    // answer a SPEC §5 error (`error`, `message`)
    kAnswer,    // answer `status` with no content (a CORS preflight's 204)
    kWait,      // the plugin needs a result from elsewhere: its wait() runs next
  };
  Kind kind = Kind::kContinue;
  http::Error error = http::Error::kBadRequest;
  std::string_view message;  // must outlive the exchange (a literal or config text)
  uint16_t status = 0;

  static Verdict next() { return {}; }
  static Verdict refuse(http::Error error, std::string_view message) {
    return {Kind::kRefuse, error, message, 0};
  }
  static Verdict answer(uint16_t status) {
    return {Kind::kAnswer, http::Error::kBadRequest, {}, status};
  }
  static Verdict wait() { return {Kind::kWait, http::Error::kBadRequest, {}, 0}; }
};

class Plugin {
 public:
  virtual ~Plugin() = default;
  // Request phase: after routing, before the body is read and a target is chosen, in the order
  // of kOrder. Default: continue. A refusal or an answer ends the phase; later plugins do not run.
  virtual Verdict on_request(Context&) const { return Verdict::next(); }
  // After on_request said kWait: waits for what the plugin needs (a Redis reply, keys being
  // fetched) and decides. Bounded by the route's deadline and ended when the client leaves:
  // every wait inside registers with c.cancel. Default: continue.
  virtual net::Task<Verdict> wait(Context&) const { co_return Verdict::next(); }
  // Response phase: a response head (the upstream's, or any answer the gateway makes itself
  // after routing, refusals included) is about to be written. Default: nothing.
  virtual void on_response(Context&) const {}
};

}  // namespace turnpike::plugins
