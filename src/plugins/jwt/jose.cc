// The JOSE layer (see jose.h), on OpenSSL 3's EVP interfaces.
#include "plugins/jwt/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <unordered_set>

namespace turnpike::plugins::jwt {
namespace {

constexpr std::string_view kAlgNames[kAlgCount] = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
    "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
};

constexpr int kMaxJsonDepth = 16;
constexpr int kMinRsaBits = 2048;
constexpr std::size_t kMaxCandidates = 8;  // keys tried for a token without `kid`

// -1 for a character outside the base64url alphabet.
constexpr std::array<int8_t, 256> kDecode = [] {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) t[static_cast<uint8_t>(kAlphabet[i])] = i;
  return t;
}();

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

// The digests, fetched once (an implicit fetch per verification costs a lock and a lookup).
const EVP_MD* sha(int bits) {
  static const EVP_MD* k256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* k384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static const EVP_MD* k512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  return bits == 256 ? k256 : bits == 384 ? k384 : k512;
}

int alg_bits(Alg alg) {
  switch (alg) {
    case Alg::kHS256:
    case Alg::kRS256:
    case Alg::kPS256:
    case Alg::kES256:
      return 256;
    case Alg::kHS384:
    case Alg::kRS384:
    case Alg::kPS384:
    case Alg::kES384:
      return 384;
    default:
      return 512;
  }
}

std::shared_ptr<EVP_PKEY> owned(EVP_PKEY* key) {
  return key ? std::shared_ptr<EVP_PKEY>(key, KeyDeleter{}) : nullptr;
}

std::optional<Family> family_of(EVP_PKEY* key, std::string& error) {
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(key) < kMinRsaBits) {
        error = "RSA key of " + std::to_string(EVP_PKEY_get_bits(key)) +
                " bits (at least 2048 are required)";
        return std::nullopt;
      }
      return Family::kRsa;
    case EVP_PKEY_ED25519:
      return Family::kEd25519;
    case EVP_PKEY_ED448:
      return Family::kEd448;
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                         &len)) {
        std::string_view g(group, len);
        if (g == "prime256v1" || g == "P-256") return Family::kP256;
        if (g == "secp384r1" || g == "P-384") return Family::kP384;
        if (g == "secp521r1" || g == "P-521") return Family::kP521;
      }
      error = "unsupported EC curve (P-256, P-384 and P-521 are)";
      return std::nullopt;
    }
    default:
      error = "unsupported key type (RSA, EC and Ed25519/Ed448 are)";
      return std::nullopt;
  }
}

const std::string* string_member(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

// A base64url member of a JWK, decoded; nullopt (and `error`) when absent or malformed.
std::optional<std::string> b64_member(const nlohmann::json& jwk, const char* name,
                                      std::string& error) {
  const std::string* text = string_member(jwk, name);
  std::optional<std::string> bytes = text ? base64url_decode(*text) : std::nullopt;
  if (!bytes || bytes->empty()) error = std::string("missing or invalid \"") + name + "\"";
  return bytes;
}

EVP_PKEY* pkey_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (params && ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1) {
    EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params);
  }
  OSSL_PARAM_free(params);
  return key;
}

EVP_PKEY* rsa_from_jwk(const nlohmann::json& jwk, std::string& error) {
  auto n = b64_member(jwk, "n", error);
  auto e = b64_member(jwk, "e", error);
  if (!n || !e) return nullptr;
  std::unique_ptr<BIGNUM, BnDeleter> bn_n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), n->size(), nullptr));
  std::unique_ptr<BIGNUM, BnDeleter> bn_e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), e->size(), nullptr));
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (bld && bn_n && bn_e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n.get()) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e.get())) {
    key = pkey_from_params("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (!key) error = "invalid RSA key";
  return key;
}

EVP_PKEY* ec_from_jwk(const nlohmann::json& jwk, std::string& error) {
  const std::string* crv = string_member(jwk, "crv");
  std::size_t size = 0;
  const char* group = nullptr;
  if (crv && *crv == "P-256") size = 32, group = "prime256v1";
  if (crv && *crv == "P-384") size = 48, group = "secp384r1";
  if (crv && *crv == "P-521") size = 66, group = "secp521r1";
  if (!group) {
    error = "unsupported EC curve (P-256, P-384 and P-521 are)";
    return nullptr;
  }
  auto x = b64_member(jwk, "x", error);
  auto y = b64_member(jwk, "y", error);
  if (!x || !y) return nullptr;
  if (x->size() != size || y->size() != size) {
    error = "EC coordinates of the wrong length for " + *crv;
    return nullptr;
  }
  std::string point = "\x04" + *x + *y;  // uncompressed
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    key = pkey_from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (key) {  // the point must be on the curve (an invalid-curve attack otherwise)
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(EVP_PKEY_CTX_new(key, nullptr));
    if (!ctx || EVP_PKEY_public_check(ctx.get()) != 1) {
      EVP_PKEY_free(key);
      key = nullptr;
    }
  }
  if (!key) error = "invalid EC public key";
  return key;
}

EVP_PKEY* okp_from_jwk(const nlohmann::json& jwk, std::string& error) {
  const std::string* crv = string_member(jwk, "crv");
  int type = crv && *crv == "Ed25519" ? EVP_PKEY_ED25519
             : crv && *crv == "Ed448" ? EVP_PKEY_ED448
                                      : 0;
  if (!type) {
    error = "unsupported OKP curve (Ed25519 and Ed448 are)";
    return nullptr;
  }
  auto x = b64_member(jwk, "x", error);
  if (!x) return nullptr;
  EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
      type, nullptr, reinterpret_cast<const unsigned char*>(x->data()), x->size());
  if (!key) error = "invalid " + *crv + " public key";
  return key;
}

bool key_fits_hmac(const std::string& secret, Alg alg) {
  return secret.size() * 8 >= static_cast<std::size_t>(alg_bits(alg));
}

bool hmac_verify(Alg alg, const Key& key, std::string_view input, std::string_view sig) {
  const EVP_MD* md = sha(alg_bits(alg));
  auto size = static_cast<std::size_t>(EVP_MD_get_size(md));
  if (sig.size() != size) return false;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(md, key.secret.data(), static_cast<int>(key.secret.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len)) {
    return false;
  }
  return len == size && CRYPTO_memcmp(mac, sig.data(), size) == 0;
}

// JWS carries ECDSA signatures as R || S of fixed width; OpenSSL wants DER.
std::optional<std::string> ecdsa_der(std::string_view sig, std::size_t width) {
  if (sig.size() != 2 * width) return std::nullopt;
  auto* raw = reinterpret_cast<const unsigned char*>(sig.data());
  BIGNUM* r = BN_bin2bn(raw, width, nullptr);
  BIGNUM* s = BN_bin2bn(raw + width, width, nullptr);
  ECDSA_SIG* es = ECDSA_SIG_new();
  if (!r || !s || !es || !ECDSA_SIG_set0(es, r, s)) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(es, &der);
  ECDSA_SIG_free(es);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

bool pkey_verify(Alg alg, const Key& key, std::string_view input, std::string_view sig) {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : sha(alg_bits(alg));
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey.get()) != 1) return false;
  std::optional<std::string> der;
  switch (alg) {
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
      if (sig.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey.get()))) return false;
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
      break;
    case Alg::kPS256:
    case Alg::kPS384:
    case Alg::kPS512:
      // RFC 7518 §3.5: MGF1 with the same hash, a salt as long as the hash.
      if (sig.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey.get()))) return false;
      if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
          EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
          EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
        return false;
      }
      break;
    case Alg::kES256:
      der = ecdsa_der(sig, 32);
      break;
    case Alg::kES384:
      der = ecdsa_der(sig, 48);
      break;
    case Alg::kES512:
      der = ecdsa_der(sig, 66);
      break;
    default:
      break;
  }
  if (alg == Alg::kES256 || alg == Alg::kES384 || alg == Alg::kES512) {
    if (!der) return false;
    sig = *der;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

}  // namespace

void KeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

std::string_view alg_name(Alg alg) { return kAlgNames[static_cast<int>(alg)]; }

std::optional<Alg> parse_alg(std::string_view name) {
  for (int i = 0; i < kAlgCount; ++i) {
    if (kAlgNames[i] == name) return static_cast<Alg>(i);
  }
  return std::nullopt;
}

bool family_verifies(Family family, Alg alg) {
  switch (alg) {
    case Alg::kHS256:
    case Alg::kHS384:
    case Alg::kHS512:
      return family == Family::kHmac;
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
    case Alg::kPS256:
    case Alg::kPS384:
    case Alg::kPS512:
      return family == Family::kRsa;
    case Alg::kES256:
      return family == Family::kP256;
    case Alg::kES384:
      return family == Family::kP384;
    case Alg::kES512:
      return family == Family::kP521;
    case Alg::kEdDSA:
      return family == Family::kEd25519 || family == Family::kEd448;
  }
  return false;
}

bool Key::verifies(Alg a) const {
  if (!family_verifies(family, a) || (alg && *alg != a)) return false;
  return family != Family::kHmac || key_fits_hmac(secret, a);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    int v = kDecode[static_cast<uint8_t>(ch)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (acc & ((1u << bits) - 1)) return std::nullopt;  // unused bits must be zero
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char ch : bytes) {
    acc = (acc << 8) | static_cast<uint8_t>(ch);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

std::optional<nlohmann::json> parse_strict_json(std::string_view text) {
  using Event = nlohmann::json::parse_event_t;
  std::vector<std::unordered_set<std::string>> objects;  // keys seen, per open object
  bool refused = false;
  auto check = [&](int depth, Event event, nlohmann::json& parsed) {
    if (refused) return false;
    switch (event) {
      case Event::object_start:
        objects.emplace_back();
        [[fallthrough]];
      case Event::array_start:
        if (depth >= kMaxJsonDepth) refused = true;
        break;
      case Event::object_end:
        if (!objects.empty()) objects.pop_back();
        break;
      case Event::key:
        if (objects.empty() || !objects.back().insert(parsed.get<std::string>()).second) {
          refused = true;
        }
        break;
      default:
        break;
    }
    return !refused;
  };
  nlohmann::json out = nlohmann::json::parse(text.begin(), text.end(), check,
                                             /*allow_exceptions=*/false);
  if (refused || out.is_discarded()) return std::nullopt;
  return out;
}

std::optional<Key> key_from_secret(std::string secret) {
  Key key;
  key.family = Family::kHmac;
  key.secret = std::move(secret);
  return key;
}

std::optional<Key> key_from_pem(std::string_view pem, std::string& error) {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (!raw && bio) {
    BIO_reset(bio.get());
    if (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      raw = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  if (!raw) {
    error = "no PEM public key or certificate found";
    return std::nullopt;
  }
  std::shared_ptr<EVP_PKEY> pkey = owned(raw);
  std::optional<Family> family = family_of(raw, error);
  if (!family) return std::nullopt;
  Key key;
  key.family = *family;
  key.pkey = std::move(pkey);
  return key;
}

std::optional<Key> key_from_jwk(const nlohmann::json& jwk, std::string& error) {
  if (!jwk.is_object()) {
    error = "a key must be a JSON object";
    return std::nullopt;
  }
  Key key;
  if (const std::string* kid = string_member(jwk, "kid")) key.kid = *kid;
  if (auto use = jwk.find("use"); use != jwk.end() && *use != "sig") {
    error = "\"use\" is not \"sig\"";
    return std::nullopt;
  }
  if (auto ops = jwk.find("key_ops"); ops != jwk.end()) {
    if (!ops->is_array() || std::find(ops->begin(), ops->end(), "verify") == ops->end()) {
      error = "\"key_ops\" does not allow \"verify\"";
      return std::nullopt;
    }
  }
  // An `alg` naming a JWS algorithm binds the key to it; another value (RFC 7520's example keys
  // say "ES521") leaves the key bound to its family alone.
  if (const std::string* alg = string_member(jwk, "alg")) {
    if (*alg == "none") {
      error = "\"alg\" is \"none\"";
      return std::nullopt;
    }
    key.alg = parse_alg(*alg);
  }
  const std::string* kty = string_member(jwk, "kty");
  EVP_PKEY* raw = nullptr;
  if (kty && *kty == "oct") {
    auto k = b64_member(jwk, "k", error);
    if (!k) return std::nullopt;
    key.family = Family::kHmac;
    key.secret = std::move(*k);
    if (key.alg && !family_verifies(key.family, *key.alg)) {
      error = "\"alg\" does not fit \"kty\"";
      return std::nullopt;
    }
    return key;
  } else if (kty && *kty == "RSA") {
    raw = rsa_from_jwk(jwk, error);
  } else if (kty && *kty == "EC") {
    raw = ec_from_jwk(jwk, error);
  } else if (kty && *kty == "OKP") {
    raw = okp_from_jwk(jwk, error);
  } else {
    error = "unsupported \"kty\" (oct, RSA, EC and OKP are)";
    return std::nullopt;
  }
  if (!raw) return std::nullopt;
  key.pkey = owned(raw);
  std::optional<Family> family = family_of(raw, error);
  if (!family) return std::nullopt;
  key.family = *family;
  if (key.alg && !family_verifies(key.family, *key.alg)) {
    error = "\"alg\" does not fit \"kty\"";
    return std::nullopt;
  }
  return key;
}

std::optional<std::vector<Key>> keys_from_jwks(std::string_view text, std::string& error,
                                               std::vector<std::string>* skipped) {
  std::optional<nlohmann::json> doc = parse_strict_json(text);
  if (!doc || !doc->is_object() || !doc->contains("keys") || !(*doc)["keys"].is_array()) {
    error = "not a JWKS document (a JSON object with a \"keys\" array)";
    return std::nullopt;
  }
  std::vector<Key> keys;
  const nlohmann::json& list = (*doc)["keys"];
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::string why;
    if (std::optional<Key> key = key_from_jwk(list[i], why)) {
      keys.push_back(std::move(*key));
    } else if (skipped) {
      skipped->push_back("keys[" + std::to_string(i) + "]: " + why);
    }
  }
  if (keys.empty()) {
    error = "no usable key in the JWKS";
    return std::nullopt;
  }
  return keys;
}

std::string_view failure_text(Failure f) {
  switch (f) {
    case Failure::kNone:
      return "ok";
    case Failure::kMalformed:
      return "malformed token";
    case Failure::kAlgorithm:
      return "algorithm not allowed";
    case Failure::kUnknownKey:
      return "unknown signing key";
    case Failure::kSignature:
      return "invalid signature";
  }
  return "invalid token";
}

bool verify_signature(Alg alg, const Key& key, std::string_view input, std::string_view sig) {
  if (!key.verifies(alg)) return false;
  if (key.family == Family::kHmac) return hmac_verify(alg, key, input, sig);
  return key.pkey && pkey_verify(alg, key, input, sig);
}

Verified verify_compact(std::string_view token, const std::vector<Key>& keys, uint32_t allowed) {
  Verified out;
  out.failure = Failure::kMalformed;
  if (token.size() > kMaxTokenBytes || std::count(token.begin(), token.end(), '.') != 2) {
    return out;
  }
  std::size_t dot1 = token.find('.');
  std::size_t dot2 = token.find('.', dot1 + 1);
  std::optional<std::string> header_bytes = base64url_decode(token.substr(0, dot1));
  std::optional<std::string> payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  std::optional<std::string> sig = base64url_decode(token.substr(dot2 + 1));
  if (!header_bytes || !payload || !sig || sig->empty()) return out;
  std::optional<nlohmann::json> header = parse_strict_json(*header_bytes);
  if (!header || !header->is_object() || header->contains("crit")) return out;
  const std::string* alg_text = string_member(*header, "alg");
  if (!alg_text) return out;
  if (auto kid = header->find("kid"); kid != header->end()) {
    if (!kid->is_string()) return out;
    out.kid = kid->get<std::string>();
  }
  std::optional<Alg> alg = parse_alg(*alg_text);
  if (!alg || !(allowed & alg_bit(*alg))) {
    out.failure = Failure::kAlgorithm;
    return out;
  }
  out.alg = *alg;
  std::string_view input = token.substr(0, dot2);
  std::size_t tried = 0;
  for (const Key& key : keys) {
    // A `kid` picks the keys that carry it (keys configured without one, a secret or a PEM
    // file, stand for any); without a `kid` every key of the family is a candidate.
    if (!out.kid.empty() && !key.kid.empty() && key.kid != out.kid) continue;
    if (!key.verifies(*alg)) continue;
    if (++tried > kMaxCandidates) break;
    if (verify_signature(*alg, key, input, *sig)) {
      out.failure = Failure::kNone;
      out.payload = std::move(*payload);
      return out;
    }
  }
  out.failure = tried ? Failure::kSignature : Failure::kUnknownKey;
  return out;
}

}  // namespace turnpike::plugins::jwt
