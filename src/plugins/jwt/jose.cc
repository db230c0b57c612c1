// The JOSE layer (see jose.h): base64url, strict JSON and the signature check of a compact JWS,
// on OpenSSL 3's EVP interfaces. Keys are made in jose_keys.cc.
#include "plugins/jwt/jose.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

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

// The digests, fetched once (an implicit fetch per verification costs a lock and a lookup).
const EVP_MD* sha(int bits) {
  static const EVP_MD* k256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* k384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static const EVP_MD* k512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  return bits == 256 ? k256 : bits == 384 ? k384 : k512;
}

bool hmac_verify(Alg alg, const Key& key, std::string_view input, std::string_view sig) {
  const EVP_MD* md = sha(alg_hash_bits(alg));
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
  const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : sha(alg_hash_bits(alg));
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

int alg_hash_bits(Alg alg) {
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
const std::string* json_string(const nlohmann::json& object, const char* name) {
  auto it = object.find(name);
  return it != object.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}
std::string_view alg_name(Alg alg) { return kAlgNames[static_cast<int>(alg)]; }

std::optional<Alg> parse_alg(std::string_view name) {
  for (int i = 0; i < kAlgCount; ++i) {
    if (kAlgNames[i] == name) return static_cast<Alg>(i);
  }
  return std::nullopt;
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
  const std::string* alg_text = json_string(*header, "alg");
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
