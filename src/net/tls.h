// TLS termination on OpenSSL 3, non-blocking on the worker's loop.
//
// TlsServer is one listener's TLS: an SSL_CTX per certificate, the one a handshake uses chosen by
// SNI (exact name, then wildcard, then the first certificate), names taken from each
// certificate's subjectAltName. It is built from files when a configuration is compiled and is
// immutable afterwards; a reload builds a new one, and open connections keep the context they
// started with. Session tickets (TLS 1.2 and 1.3) are sealed with process-wide keys rotated every
// 12 hours, so a ticket survives a reload.
//
// TlsTransport is one connection's TLS session, the Transport under the HTTP/1 codec: the
// handshake happens inside the first reads, bounded by the codec's header deadline.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "net/transport.h"

namespace turnpike::net {

struct TlsServerSettings {
  struct Certificate {
    std::string cert;  // PEM chain file
    std::string key;   // PEM private key file
  };
  std::vector<Certificate> certificates;
  int min_version = 12;                   // 12 or 13
  std::vector<std::string> alpn{"http/1.1"};
};

class TlsServer {
 public:
  // Loads every certificate. On failure: null, `error` says why and `failed` which certificate.
  static std::shared_ptr<const TlsServer> load(const TlsServerSettings& settings,
                                               std::string& error, std::size_t& failed);
  ~TlsServer();
  TlsServer(const TlsServer&) = delete;
  TlsServer& operator=(const TlsServer&) = delete;

  // A server-side session on the accepted socket `fd` (null when out of memory).
  SSL* accept(int fd) const;

  struct Served {
    std::vector<std::string> names;  // DNS names of the certificate (lower case)
    std::time_t not_after = 0;
  };
  const std::vector<Served>& certificates() const { return served_; }

 private:
  TlsServer() = default;
  // The context for an SNI name: exact, then wildcard, then the first.
  SSL_CTX* context_for(std::string_view name) const;
  static int on_servername(SSL* ssl, int* alert, void* self);
  static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length,
                     const unsigned char* in, unsigned int in_length, void* self);

  std::vector<SSL_CTX*> contexts_;  // one per certificate, in configuration order
  std::vector<Served> served_;
  std::unordered_map<std::string, std::size_t> exact_;     // name -> certificate
  std::unordered_map<std::string, std::size_t> wildcard_;  // "example.com" for *.example.com
  std::vector<unsigned char> alpn_;                        // ALPN wire format, our preference
};

class TlsTransport final : public Transport {
 public:
  explicit TlsTransport(SSL* ssl) : ssl_(ssl) {}
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  IoResult try_read(Socket& socket, char* buffer, std::size_t length, Want& want) override;
  IoResult try_write(Socket& socket, const iovec* iov, int count, Want& want) override;
  bool pending() const override { return SSL_has_pending(ssl_) == 1; }

  bool handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }
  bool resumed() const { return SSL_session_reused(ssl_) == 1; }
  // The SNI name the client sent (empty for none) and the ALPN protocol agreed (empty for none).
  std::string_view server_name() const;
  std::string_view protocol() const;
  // Sends close_notify if the socket takes it now (best effort, never waits).
  void close_notify();

 private:
  // Maps a failed SSL call to an IoResult (and the readiness to wait for).
  IoResult failure(Socket& socket, int ret, Want& want);

  SSL* ssl_;
  bool broken_ = false;  // a fatal error: no close_notify
};

}  // namespace turnpike::net
