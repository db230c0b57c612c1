// TLS contexts and sessions (see tls.h).
#include "net/tls.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>

namespace turnpike::net {
namespace {

// TLS 1.2 suites: forward secrecy and AEAD only (no RSA key exchange, no CBC). TLS 1.3's are
// OpenSSL's defaults, all AEAD.
constexpr const char* kCiphers12 =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string openssl_error() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Session ticket keys shared by every context of the process, so that a ticket outlives a
// reload; a new key every 12 hours, the previous one still accepted (and its tickets renewed).
class TicketKeys {
 public:
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
  };

  static TicketKeys& instance() {
    static TicketKeys keys;
    return keys;
  }

  // The key to seal a new ticket with.
  Key current() {
    std::lock_guard lock(mutex_);
    rotate_if_due();
    return keys_[0];
  }
  // The key a ticket names: 1 current, 2 previous (renew the ticket), 0 unknown.
  int find(const unsigned char name[16], Key& out) {
    std::lock_guard lock(mutex_);
    rotate_if_due();
    for (int i = 0; i < count_; ++i) {
      if (std::memcmp(keys_[i].name, name, 16) == 0) {
        out = keys_[i];
        return i + 1;
      }
    }
    return 0;
  }

 private:
  void rotate_if_due() {
    auto now = std::chrono::steady_clock::now();
    if (count_ > 0 && now - made_ < std::chrono::hours(12)) return;
    keys_[1] = keys_[0];
    RAND_bytes(keys_[0].name, sizeof(keys_[0].name));
    RAND_bytes(keys_[0].aes, sizeof(keys_[0].aes));
    RAND_bytes(keys_[0].hmac, sizeof(keys_[0].hmac));
    count_ = std::min(count_ + 1, 2);
    made_ = now;
  }

  std::mutex mutex_;
  Key keys_[2]{};
  int count_ = 0;
  std::chrono::steady_clock::time_point made_{};
};

int on_ticket_key(SSL*, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                  EVP_MAC_CTX* mac, int encrypt) {
  TicketKeys::Key key;
  int found = 1;
  if (encrypt) {
    key = TicketKeys::instance().current();
    std::memcpy(name, key.name, 16);
    if (RAND_bytes(iv, 16) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
  } else {
    found = TicketKeys::instance().find(name, key);
    if (found == 0) return 0;  // unknown key: a full handshake
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
  }
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, sizeof(key.hmac)),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  return found;
}

// The DNS names a certificate is for: its subjectAltName entries, or its CN when it has none.
std::vector<std::string> names_of(X509* cert) {
  std::vector<std::string> out;
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name,
                                                            nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(sans, i);
      if (n->type != GEN_DNS) continue;
      const ASN1_STRING* s = n->d.dNSName;
      out.push_back(lower({reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<std::size_t>(ASN1_STRING_length(s))}));
    }
    GENERAL_NAMES_free(sans);
  }
  if (out.empty()) {
    char cn[256];
    int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
    if (n > 0) out.push_back(lower({cn, static_cast<std::size_t>(n)}));
  }
  return out;
}

std::time_t not_after(X509* cert) {
  struct tm t{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &t) != 1) return 0;
  return timegm(&t);
}

}  // namespace

std::shared_ptr<const TlsServer> TlsServer::load(const TlsServerSettings& settings,
                                                 std::string& error, std::size_t& failed) {
  std::shared_ptr<TlsServer> server(new TlsServer());
  for (const std::string& protocol : settings.alpn) {
    server->alpn_.push_back(static_cast<unsigned char>(protocol.size()));
    server->alpn_.insert(server->alpn_.end(), protocol.begin(), protocol.end());
  }
  ERR_clear_error();
  for (std::size_t i = 0; i < settings.certificates.size(); ++i) {
    const TlsServerSettings::Certificate& files = settings.certificates[i];
    failed = i;
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
      error = openssl_error();
      return nullptr;
    }
    server->contexts_.push_back(ctx);  // freed with the server from here on
    SSL_CTX_set_min_proto_version(ctx, settings.min_version == 13 ? TLS1_3_VERSION
                                                                  : TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION);
    // Idle connections hold no TLS buffers; writes may be partial and retried from a new place.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_cipher_list(ctx, kCiphers12);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // tickets instead
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key);
    SSL_CTX_set_tlsext_servername_callback(ctx, on_servername);
    SSL_CTX_set_tlsext_servername_arg(ctx, server.get());
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, server.get());
    if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
      error = "cannot load certificate " + files.cert + ": " + openssl_error();
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
      error = "cannot load private key " + files.key + ": " + openssl_error();
      return nullptr;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
      error = "private key " + files.key + " does not match certificate " + files.cert;
      ERR_clear_error();
      return nullptr;
    }
    X509* cert = SSL_CTX_get0_certificate(ctx);
    Served served{names_of(cert), not_after(cert)};
    for (const std::string& name : served.names) {
      if (name.starts_with("*.")) {
        server->wildcard_.emplace(name.substr(2), i);  // the first certificate naming it wins
      } else {
        server->exact_.emplace(name, i);
      }
    }
    server->served_.push_back(std::move(served));
  }
  if (server->contexts_.empty()) {
    error = "no certificate";
    return nullptr;
  }
  return server;
}

TlsServer::~TlsServer() {
  for (SSL_CTX* ctx : contexts_) SSL_CTX_free(ctx);
}

SSL* TlsServer::accept(int fd) const {
  SSL* ssl = SSL_new(contexts_.front());
  if (!ssl) return nullptr;
  if (SSL_set_fd(ssl, fd) != 1) {
    SSL_free(ssl);
    return nullptr;
  }
  SSL_set_accept_state(ssl);
  return ssl;
}

SSL_CTX* TlsServer::context_for(std::string_view name) const {
  std::string key = lower(name);
  if (auto it = exact_.find(key); it != exact_.end()) return contexts_[it->second];
  if (std::size_t dot = key.find('.'); dot != std::string::npos) {
    if (auto it = wildcard_.find(key.substr(dot + 1)); it != wildcard_.end()) {
      return contexts_[it->second];
    }
  }
  return contexts_.front();
}

int TlsServer::on_servername(SSL* ssl, int*, void* self) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_NOACK;  // no SNI: the first certificate
  SSL_CTX* ctx = static_cast<const TlsServer*>(self)->context_for(name);
  if (ctx != SSL_get_SSL_CTX(ssl)) SSL_set_SSL_CTX(ssl, ctx);
  return SSL_TLSEXT_ERR_OK;
}

int TlsServer::on_alpn(SSL*, const unsigned char** out, unsigned char* out_length,
                       const unsigned char* in, unsigned int in_length, void* self) {
  const auto& ours = static_cast<const TlsServer*>(self)->alpn_;
  unsigned char* selected = nullptr;
  // Our order of preference; no protocol in common: go on without ALPN (HTTP/1.1).
  if (SSL_select_next_proto(&selected, out_length, ours.data(),
                            static_cast<unsigned int>(ours.size()), in,
                            in_length) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

TlsTransport::~TlsTransport() { SSL_free(ssl_); }

IoResult TlsTransport::failure(Socket& socket, int ret, Want& want) {
  int saved_errno = errno;
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:  // the socket said EAGAIN to a read
      socket.clear_readable();
      want = Want::kRead;
      return {IoStatus::kWouldBlock};
    case SSL_ERROR_WANT_WRITE:  // ... or to a write
      socket.clear_writable();
      want = Want::kWrite;
      return {IoStatus::kWouldBlock};
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      return {IoStatus::kEof};
    case SSL_ERROR_SYSCALL:
      broken_ = true;
      ERR_clear_error();
      // No errno: the peer closed without close_notify (a truncation the codec's framing sees).
      if (saved_errno == 0) return {IoStatus::kEof};
      return {IoStatus::kError, 0, saved_errno};
    default:  // a protocol error: a failed handshake, a bad record
      broken_ = true;
      ERR_clear_error();
      return {IoStatus::kError, 0, EPROTO};
  }
}

IoResult TlsTransport::try_read(Socket& socket, char* buffer, std::size_t length, Want& want) {
  std::size_t n = 0;
  ERR_clear_error();
  errno = 0;
  int ret = SSL_read_ex(ssl_, buffer, length, &n);
  if (ret == 1) return {IoStatus::kOk, n};
  return failure(socket, ret, want);
}

IoResult TlsTransport::try_write(Socket& socket, const iovec* iov, int count, Want& want) {
  // One record for a head and its body: gather small pieces (OpenSSL has no writev).
  thread_local char gathered[16 * 1024];
  const char* data = static_cast<const char*>(iov[0].iov_base);
  std::size_t length = iov[0].iov_len;
  if (count > 1 && length < sizeof(gathered)) {
    length = 0;
    for (int i = 0; i < count && length < sizeof(gathered); ++i) {
      std::size_t take = std::min(iov[i].iov_len, sizeof(gathered) - length);
      std::memcpy(gathered + length, iov[i].iov_base, take);
      length += take;
    }
    data = gathered;
  }
  std::size_t written = 0;
  ERR_clear_error();
  errno = 0;
  int ret = SSL_write_ex(ssl_, data, length, &written);
  if (ret == 1) return {IoStatus::kOk, written};
  return failure(socket, ret, want);
}

std::string_view TlsTransport::server_name() const {
  const char* name = SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name ? std::string_view(name) : std::string_view();
}

std::string_view TlsTransport::protocol() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return {reinterpret_cast<const char*>(data), length};
}

void TlsTransport::close_notify() {
  if (broken_ || !handshake_done()) return;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // one attempt: sent if the socket takes it, else dropped
  ERR_clear_error();
}

}  // namespace turnpike::net
