// Keys of the JOSE layer (see jose.h): secrets, PEM public keys and JWKs, each bound to the
// algorithm family it is for. Only public members are ever read.
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "plugins/jwt/jose.h"

namespace turnpike::plugins::jwt {
namespace {

constexpr int kMinRsaBits = 2048;

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

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
// A base64url member of a JWK, decoded; nullopt (and `error`) when absent or malformed.
std::optional<std::string> b64_member(const nlohmann::json& jwk, const char* name,
                                      std::string& error) {
  const std::string* text = json_string(jwk, name);
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
  const std::string* crv = json_string(jwk, "crv");
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
  const std::string* crv = json_string(jwk, "crv");
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
  return secret.size() * 8 >= static_cast<std::size_t>(alg_hash_bits(alg));
}
}  // namespace

void KeyDeleter::operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }

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
  if (const std::string* kid = json_string(jwk, "kid")) key.kid = *kid;
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
  if (const std::string* alg = json_string(jwk, "alg")) {
    if (*alg == "none") {
      error = "\"alg\" is \"none\"";
      return std::nullopt;
    }
    key.alg = parse_alg(*alg);
  }
  const std::string* kty = json_string(jwk, "kty");
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

}  // namespace turnpike::plugins::jwt
