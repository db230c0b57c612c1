// Head scanning, llhttp glue and the framing rules of RFC 9112 §6, strict where leniency has been
// used to smuggle requests.
#include "http/parser.h"

#include <charconv>
#include <cstring>

namespace turnpike::http {

HeadStatus HeadScanner::scan(std::string_view data, std::size_t max_length) {
  const char* base = data.data();
  std::size_t size = data.size();
  // Resume where the previous call stopped: at the start of a line not yet complete.
  std::size_t i = scanned_;
  while (i < size) {
    // A line that starts with a space or tab continues the previous one (obs-fold, RFC 9112
    // §5.2): refused, as llhttp would otherwise drop the continuation.
    if (i > 0 && (base[i] == ' ' || base[i] == '\t')) return HeadStatus::kMalformed;
    const void* hit = std::memchr(base + i, '\n', size - i);
    if (!hit) break;
    std::size_t lf = static_cast<const char*>(hit) - base;
    // Every line ends in CRLF, and holds no other CR; a bare LF or CR is refused as soon as it
    // arrives.
    if (lf == 0 || base[lf - 1] != '\r') return HeadStatus::kMalformed;
    if (lf - 1 > i && std::memchr(base + i, '\r', lf - 1 - i)) return HeadStatus::kMalformed;
    // CRLF CRLF ends the head (the caller has skipped empty lines before a request line).
    if (lf >= 3 && base[lf - 2] == '\n') {
      length_ = lf + 1;
      return length_ > max_length ? HeadStatus::kTooLarge : HeadStatus::kComplete;
    }
    i = lf + 1;
  }
  // A CR in the unfinished line must be followed by LF; refuse one that is not as soon as the
  // next byte shows it (a head that never ends would otherwise wait for its timeout).
  if (i < size) {
    const void* cr = std::memchr(base + i, '\r', size - i);
    if (cr && static_cast<const char*>(cr) + 1 < base + size) return HeadStatus::kMalformed;
  }
  scanned_ = i;
  if (size > max_length) return HeadStatus::kTooLarge;
  return HeadStatus::kIncomplete;
}

// llhttp callbacks: `parser->data` is the MessageParser.
struct ParserCallbacks {
  static MessageParser& self(llhttp_t* p) { return *static_cast<MessageParser*>(p->data); }

  // A span of the head (method, target, reason, field name or value) into `Field`; a span that
  // llhttp reports in pieces is joined (the head is contiguous in the buffer).
  template <std::string_view MessageParser::*Field>
  static int on_span(llhttp_t* p, const char* at, std::size_t length) {
    std::string_view& have = self(p).*Field;
    if (have.data() && have.data() + have.size() == at) {
      have = {have.data(), have.size() + length};
    } else {
      have = {at, length};
    }
    return 0;
  }
  static int on_header_value_complete(llhttp_t* p) {
    MessageParser& m = self(p);
    Header h;
    h.name = m.field_;
    // llhttp keeps whitespace after the value; the field value excludes it (RFC 9110 §5.5).
    std::string_view value = m.value_;
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    h.value = value;
    h.id = classify_header(h.name);
    if (!m.headers_->push(h)) m.too_many_headers_ = true;
    m.field_ = {};
    m.value_ = {};
    return m.too_many_headers_ ? -1 : 0;
  }
  // Stop at the end of the head: the caller decides what the body is.
  static int on_headers_complete(llhttp_t*) { return HPE_PAUSED; }
  static const llhttp_settings_t& settings() {
    static const llhttp_settings_t s = [] {
      llhttp_settings_t s;
      llhttp_settings_init(&s);
      s.on_method = on_span<&MessageParser::method_>;
      s.on_url = on_span<&MessageParser::target_>;
      s.on_status = on_span<&MessageParser::reason_>;
      s.on_header_field = on_span<&MessageParser::field_>;
      s.on_header_value = on_span<&MessageParser::value_>;
      s.on_header_value_complete = on_header_value_complete;
      s.on_headers_complete = on_headers_complete;
      return s;
    }();
    return s;
  }
};

namespace {

// Byte classes for field names and values, one table lookup per byte.
struct ByteClasses {
  bool tchar[256];      // RFC 9110 §5.6.2
  bool bad_value[256];  // control characters other than HTAB, and DEL
  constexpr ByteClasses() : tchar(), bad_value() {
    for (int c = 0; c < 256; ++c) {
      tchar[c] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' ||
                 c == '*' || c == '+' || c == '-' || c == '.' || c == '^' || c == '_' ||
                 c == '`' || c == '|' || c == '~';
      bad_value[c] = (c < 0x20 && c != '\t') || c == 0x7f;
    }
  }
};
constexpr ByteClasses kBytes;

bool is_token(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!kBytes.tchar[c]) return false;
  }
  return true;
}

bool has_bad_value_byte(std::string_view value) {
  for (unsigned char c : value) {
    if (kBytes.bad_value[c]) return true;
  }
  return false;
}

bool parse_length(std::string_view text, uint64_t& out) {
  if (text.empty() || text.size() > 19) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// The last coding of a Transfer-Encoding list ("gzip, chunked" -> "chunked").
std::string_view last_coding(std::string_view list) {
  std::size_t comma = list.rfind(',');
  std::string_view last = comma == std::string_view::npos ? list : list.substr(comma + 1);
  while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
  return last;
}

// Connection tokens from every Connection field (RFC 9110 §7.6.1: the list may be split).
struct ConnectionTokens {
  bool close = false;
  bool keep_alive = false;
  bool upgrade = false;
  bool names_fields = false;  // another token: it names a hop-by-hop field
};
ConnectionTokens connection_tokens(const HeaderList& headers) {
  ConnectionTokens t;
  if (headers.count(HeaderId::kConnection) == 0) return t;
  for (const Header& h : headers) {
    if (h.id != HeaderId::kConnection) continue;
    std::string_view list = h.value;
    while (!list.empty()) {
      std::size_t comma = list.find(',');
      std::string_view token = list.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (token.size() == 5 && iequals(token, "close")) {
        t.close = true;
      } else if (token.size() == 10 && iequals(token, "keep-alive")) {
        t.keep_alive = true;
      } else if (token.size() == 7 && iequals(token, "upgrade")) {
        t.upgrade = true;
      } else if (!token.empty()) {
        t.names_fields = true;
      }
      if (comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
  }
  return t;
}

// Marks the fields a Connection token names (the parser found some): they belong to this hop.
void mark_connection_named(HeaderList& headers) {
  for (const Header& connection : headers) {
    if (connection.id != HeaderId::kConnection) continue;
    for (Header& h : headers) {
      if (!h.connection_named && has_token(connection.value, h.name)) h.connection_named = true;
    }
  }
}

// HTTP/1.1 stays open unless told to close; HTTP/1.0 closes unless told to stay, and close wins
// over keep-alive (RFC 9112 §9.3).
bool keep_alive_for(uint8_t version_minor, const ConnectionTokens& t) {
  if (t.close) return false;
  return version_minor == 1 || t.keep_alive;
}

// Sets each header's raw line and applies the rules shared by requests and responses: token
// names, no control bytes in values, at most one Content-Length (parsed into `content_length`)
// and one Transfer-Encoding, never both (RFC 9112 §6.1: a smuggling attempt). Returns an error
// text or null.
const char* check_fields(HeaderList& headers, std::string_view head, uint64_t& content_length) {
  if (headers.count(HeaderId::kContentLength) > 1) return "more than one Content-Length";
  if (headers.count(HeaderId::kTransferEncoding) > 1) return "more than one Transfer-Encoding";
  if (headers.count(HeaderId::kContentLength) && headers.count(HeaderId::kTransferEncoding)) {
    return "both Content-Length and Transfer-Encoding";
  }
  const char* head_end = head.data() + head.size();
  for (Header& h : headers) {
    // Whitespace inside or after a field name is a smuggling vector (RFC 9112 §5.1).
    if (!is_token(h.name)) return "invalid header field name";
    if (has_bad_value_byte(h.value)) return "control character in a header value";
    // The line ends a few bytes after its value (trailing whitespace, CRLF).
    const char* p = h.value.empty() ? h.name.data() + h.name.size() : h.value.data() + h.value.size();
    while (p < head_end && *p != '\n') ++p;
    if (p == head_end) return "malformed header line";
    h.line_end = p + 1;
  }
  content_length = 0;
  const Header* cl = headers.find(HeaderId::kContentLength);
  if (cl && !parse_length(cl->value, content_length)) return "invalid Content-Length";
  return nullptr;
}

}  // namespace

MessageParser::MessageParser(Kind kind) : kind_(kind) {}

HeadStatus MessageParser::fail(const char* why) {
  error_ = why;
  return HeadStatus::kMalformed;
}

HeadStatus MessageParser::finish_head(std::string_view head) {
  llhttp_init(&parser_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE,
              &ParserCallbacks::settings());
  parser_.data = this;
  method_ = target_ = reason_ = field_ = value_ = {};
  too_many_headers_ = false;
  chunked_.reset();
  error_ = nullptr;
  llhttp_errno_t rc = llhttp_execute(&parser_, head.data(), head.size());
  if (too_many_headers_) {
    error_ = "too many header fields";
    return HeadStatus::kTooLarge;
  }
  if (rc != HPE_PAUSED) return fail(rc == HPE_OK ? "incomplete head" : llhttp_get_error_reason(&parser_));
  // Paused in on_headers_complete: the head must be exactly what llhttp consumed.
  if (llhttp_get_error_pos(&parser_) != head.data() + head.size()) return fail("malformed head");
  // A bare CR in the request or status line (in fields it is a refused control character).
  const char* first_lf = static_cast<const char*>(std::memchr(head.data(), '\n', head.size()));
  if (std::memchr(head.data(), '\r', first_lf - head.data()) != first_lf - 1) {
    return fail("bare CR in the start line");
  }
  // Bodies are not llhttp's business here (ChunkedDecoder or counting): later fields would be
  // trailers, not head fields.
  headers_ = nullptr;
  if (parser_.http_major != 1 || parser_.http_minor > 1) return fail("unsupported HTTP version");
  return HeadStatus::kComplete;
}

HeadStatus MessageParser::parse_request(std::string_view head, RequestHead& out) {
  out.headers.clear();
  headers_ = &out.headers;
  HeadStatus status = finish_head(head);
  if (status != HeadStatus::kComplete) return status;

  out.method = method_;
  out.target = target_;
  out.version_minor = parser_.http_minor;
  out.length = head.size();
  out.is_head = parser_.method == HTTP_HEAD;
  if (parser_.method == HTTP_CONNECT) return fail("CONNECT is not supported");

  if (const char* why = check_fields(out.headers, head, out.content_length)) return fail(why);
  // A request's coding must be exactly chunked; HTTP/1.0 has no transfer coding.
  const Header* te = out.headers.find(HeaderId::kTransferEncoding);
  if (te && (!iequals(te->value, "chunked") || out.version_minor == 0)) {
    return fail("unsupported Transfer-Encoding");
  }
  std::size_t hosts = out.headers.count(HeaderId::kHost);
  if (hosts > 1) return fail("more than one Host");
  if (hosts == 0 && out.version_minor == 1) return fail("missing Host");

  if (te) {
    out.framing = Framing::kChunked;
  } else if (out.content_length > 0) {
    out.framing = Framing::kContentLength;
  } else {
    out.framing = Framing::kNone;
  }

  ConnectionTokens tokens = connection_tokens(out.headers);
  out.keep_alive = keep_alive_for(out.version_minor, tokens);
  out.connection_names_fields = tokens.names_fields;
  if (tokens.names_fields) mark_connection_named(out.headers);
  const Header* expect = out.headers.find(HeaderId::kExpect);
  out.expect_continue = expect && iequals(expect->value, "100-continue");
  const Header* upgrade = out.headers.find(HeaderId::kUpgrade);
  out.websocket = upgrade && has_token(upgrade->value, "websocket") && tokens.upgrade &&
                  out.version_minor == 1;
  return HeadStatus::kComplete;
}

HeadStatus MessageParser::parse_response(std::string_view head, bool request_was_head,
                                         ResponseHead& out) {
  out.headers.clear();
  headers_ = &out.headers;
  HeadStatus status = finish_head(head);
  if (status != HeadStatus::kComplete) return status;

  out.status = parser_.status_code;
  if (out.status < 100 || out.status > 599) return fail("invalid status code");
  out.reason = reason_;
  out.version_minor = parser_.http_minor;
  out.length = head.size();
  if (const char* why = check_fields(out.headers, head, out.content_length)) return fail(why);
  const Header* te = out.headers.find(HeaderId::kTransferEncoding);
  bool has_cl = out.headers.count(HeaderId::kContentLength) > 0;

  ConnectionTokens tokens = connection_tokens(out.headers);
  out.keep_alive = keep_alive_for(out.version_minor, tokens);
  out.connection_names_fields = tokens.names_fields;
  if (tokens.names_fields) mark_connection_named(out.headers);

  // RFC 9112 §6.3, in its order.
  if (request_was_head || out.status < 200 || out.status == 204 || out.status == 304) {
    out.framing = Framing::kNone;
  } else if (te) {
    // A coding that does not end in chunked is delimited by the connection closing.
    if (iequals(last_coding(te->value), "chunked")) {
      out.framing = Framing::kChunked;
    } else {
      out.framing = Framing::kUntilClose;
      out.keep_alive = false;
    }
  } else if (has_cl) {
    out.framing = out.content_length > 0 ? Framing::kContentLength : Framing::kNone;
  } else {
    out.framing = Framing::kUntilClose;
    out.keep_alive = false;
  }
  return HeadStatus::kComplete;
}

MessageParser::BodyProgress MessageParser::feed_chunked(const char* data, std::size_t length,
                                                        BodySink sink, void* sink_context) {
  ChunkedDecoder::Progress p = chunked_.feed(data, length, sink, sink_context);
  BodyProgress progress;
  progress.consumed = p.consumed;
  progress.complete = p.complete;
  if (p.error) {
    error_ = p.error;
    progress.error = true;
  }
  return progress;
}

}  // namespace turnpike::http
