// The cost of one uncached JWT verification (the whole compact-token check: base64url, the
// strict JSON header, the signature), for the algorithms gateways meet most, and of the jwt
// plugin's request phase on a token its per-worker cache already holds. Keys are made at start.
//   BM_Verify/RS256, /PS256: RSA-2048;  /ES256: P-256;  /EdDSA: Ed25519;  /HS256: a 32-byte secret
//   BM_CachedToken: the plugin's on_request for a token verified before (a hash lookup)
#include <benchmark/benchmark.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "config/reader.h"
#include "http/headers.h"
#include "plugins/jwt/config.h"
#include "plugins/jwt/jose.h"
#include "plugins/jwt/plugin.h"

namespace turnpike::plugins::jwt {
namespace {

constexpr const char* kClaims =
    R"({"iss":"https://issuer.test","aud":"api","sub":"alice","exp":4102444800,"scope":"read"})";

struct Signer {
  Alg alg;
  std::shared_ptr<EVP_PKEY> key;  // null for HS256
};

std::string sign(const Signer& s, const std::string& input, const std::string& secret) {
  std::string sig(1024, '\0');
  std::size_t len = sig.size();
  if (!s.key) {
    unsigned int n = 0;
    HMAC(EVP_sha256(), secret.data(), secret.size(),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         reinterpret_cast<unsigned char*>(sig.data()), &n);
    sig.resize(n);
    return sig;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = s.alg == Alg::kEdDSA ? nullptr : EVP_sha256();
  EVP_DigestSignInit(ctx, &pctx, md, nullptr, s.key.get());
  if (s.alg == Alg::kPS256) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  if (s.alg == Alg::kES256) {  // DER -> R || S
    const auto* der = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(sig.size()));
    std::string raw(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    return raw;
  }
  return sig;
}

// A signed token and the key set that verifies it.
struct Case {
  std::string token;
  std::vector<Key> keys;
};

Case make_case(Alg alg) {
  std::string secret(32, 's');
  Signer signer{alg, nullptr};
  Key key;
  if (alg == Alg::kRS256 || alg == Alg::kPS256) {
    signer.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), EVP_PKEY_free);
    key.family = Family::kRsa;
  } else if (alg == Alg::kES256) {
    signer.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
    key.family = Family::kP256;
  } else if (alg == Alg::kEdDSA) {
    signer.key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
    key.family = Family::kEd25519;
  } else {
    key = *key_from_secret(secret);
  }
  key.pkey = signer.key;  // a private key verifies as well as its public half
  std::string header = std::string(R"({"alg":")") + std::string(alg_name(alg)) + R"(","kid":"k1"})";
  std::string input = base64url_encode(header) + "." + base64url_encode(kClaims);
  key.kid = "k1";
  return {input + "." + base64url_encode(sign(signer, input, secret)), {key}};
}

void BM_Verify(benchmark::State& state, Alg alg) {
  Case c = make_case(alg);
  if (verify_compact(c.token, c.keys, kAllAlgs).failure != Failure::kNone) {
    state.SkipWithError("the token does not verify");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(verify_compact(c.token, c.keys, kAllAlgs));
  }
}
BENCHMARK_CAPTURE(BM_Verify, RS256, Alg::kRS256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Verify, PS256, Alg::kPS256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Verify, ES256, Alg::kES256)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Verify, EdDSA, Alg::kEdDSA)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Verify, HS256, Alg::kHS256)->Unit(benchmark::kMicrosecond);

void BM_CachedToken(benchmark::State& state) {
  std::vector<config::ConfigError> errors;
  auto config = parse(config::Reader::root(
      YAML::Load("{secret: ssssssssssssssssssssssssssssssss, issuers: [\"https://issuer.test\"], "
                 "audiences: api, forward_claims: {sub: X-User-Id}}"),
      errors, {}, "plugins.jwt"));
  auto plugin = make(*config);
  std::string auth = "Bearer " + make_case(Alg::kHS256).token;
  http::HeaderList headers;
  headers.push({"Authorization", auth, nullptr, http::classify_header("Authorization")});
  for (auto _ : state) {
    Context c;
    c.headers = &headers;
    Verdict v = plugin->on_request(c);
    if (v.kind != Verdict::Kind::kContinue) state.SkipWithError("refused");
    benchmark::DoNotOptimize(v);
  }
}
BENCHMARK(BM_CachedToken)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace turnpike::plugins::jwt

BENCHMARK_MAIN();
