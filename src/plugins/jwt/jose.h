// The JOSE layer of the jwt plugin: strict base64url, a strict JSON reader, keys (JWK, PEM,
// secrets) bound to one algorithm family, and the signature check of a compact JWS on OpenSSL 3.
// Nothing here reads claims; it answers "is this token signed by one of these keys?".
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace turnpike::plugins::jwt {

// RFC 7518's JWS algorithms that are ever accepted (`none` is not one of them). ES512 is beyond
// SPEC §3's list; the signature layer has it because RFC 7520's examples use it.
enum class Alg : uint8_t {
  kHS256,
  kHS384,
  kHS512,
  kRS256,
  kRS384,
  kRS512,
  kPS256,
  kPS384,
  kPS512,
  kES256,
  kES384,
  kES512,
  kEdDSA,
};
inline constexpr int kAlgCount = 13;
std::string_view alg_name(Alg alg);
std::optional<Alg> parse_alg(std::string_view name);  // "none" and unknown names: nullopt
int alg_hash_bits(Alg alg);                           // 256, 384 or 512 (EdDSA: 512)

// What a key is, which decides the only algorithms it may verify: an HMAC secret only HS*, an
// RSA key only RS*/PS*, a P-256 key only ES256, and so on. This is what makes the HS/RS
// confusion (an RSA public key used as an HMAC secret) impossible.
enum class Family : uint8_t { kHmac, kRsa, kP256, kP384, kP521, kEd25519, kEd448 };
bool family_verifies(Family family, Alg alg);

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const;
};

struct Key {
  Family family = Family::kHmac;
  std::string kid;                 // empty: none
  std::optional<Alg> alg;          // the JWK's `alg`: then only this algorithm
  std::string secret;              // kHmac
  std::shared_ptr<EVP_PKEY> pkey;  // the others

  // The key's family verifies `a`, its `alg` (if any) is `a`, and an HMAC secret is at least as
  // long as the hash (RFC 7518 §3.2: 32, 48 or 64 bytes).
  bool verifies(Alg a) const;
};

// ---- Strict decoding.
// base64url without padding (RFC 7515 §2): only [A-Za-z0-9_-], no length of 4n+1, and the unused
// bits of the last character zero, so that every byte string has exactly one spelling.
std::optional<std::string> base64url_decode(std::string_view text);
std::string base64url_encode(std::string_view bytes);
// JSON as RFC 8259 with the refusals a security token needs: a key twice in one object,
// nesting deeper than 16, invalid UTF-8, anything after the value. Never throws.
std::optional<nlohmann::json> parse_strict_json(std::string_view text);
// The string member `name` of a JSON object, or null when absent or not a string.
const std::string* json_string(const nlohmann::json& object, const char* name);

// ---- Keys (jose_keys.cc). Each returns nullopt with the reason in `error`.
std::optional<Key> key_from_secret(std::string secret);
// A PEM public key (SubjectPublicKeyInfo, or an X.509 certificate's key).
std::optional<Key> key_from_pem(std::string_view pem, std::string& error);
// One JWK (RFC 7517). Only its public members are read (a private key's `d`, `p`, ... are never
// used); a key whose `use` is not "sig", or whose `key_ops` lacks "verify", is refused; RSA keys
// under 2048 bits are refused (RFC 7518 §3.3).
std::optional<Key> key_from_jwk(const nlohmann::json& jwk, std::string& error);

// A JWKS document ({"keys": [...]}). Keys that cannot be used are left out and described in
// `skipped` (one line each); a document that is not a JWKS, or has no usable key, is an error.
std::optional<std::vector<Key>> keys_from_jwks(std::string_view text, std::string& error,
                                               std::vector<std::string>* skipped = nullptr);

// ---- Verification.
enum class Failure : uint8_t {
  kNone,
  kMalformed,   // not three base64url parts, bad JSON, bad header
  kAlgorithm,   // `none`, unknown, or not allowed here
  kUnknownKey,  // no key with this kid (or, without kid, none for the algorithm)
  kSignature,   // no key verified the signature
};
std::string_view failure_text(Failure f);

struct Verified {
  Failure failure = Failure::kNone;
  Alg alg = Alg::kHS256;
  std::string payload;  // the decoded payload (the claims, for a JWT)
  std::string kid;
};

// Largest token accepted; larger ones are refused before any decoding (SPEC's 64 KiB limit on a
// head is far more than any sane token).
inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

// Checks a compact JWS against `keys`: the header's `alg` must be in `allowed` (a bit per Alg),
// and a key of the right family (and `kid`, when the header names one) must verify the
// signature. A header with `crit` is refused (no extension is understood).
Verified verify_compact(std::string_view token, const std::vector<Key>& keys, uint32_t allowed);
inline constexpr uint32_t alg_bit(Alg a) { return 1u << static_cast<int>(a); }
inline constexpr uint32_t kAllAlgs = (1u << kAlgCount) - 1;

// The signature alone over `input` (exposed for tests and the micro-benchmark).
bool verify_signature(Alg alg, const Key& key, std::string_view input, std::string_view sig);

}  // namespace turnpike::plugins::jwt
