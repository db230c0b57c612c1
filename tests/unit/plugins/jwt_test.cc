// jwt: its configuration (errors at their paths, the secret redacted), tokens minted by PyJWT and
// by the openssl command for every algorithm, the attack matrix, claims forwarded, the consumer,
// the verified-token cache and a JWKS file whose key is rotated. The tokens and keys are fixtures
// (tests/unit/plugins/jwt_fixtures/make_fixtures.py), with times fixed far in the past or future.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "plugin_test_util.h"
#include "plugins/jwt/config.h"
#include "plugins/jwt/key_store.h"
#include "plugins/jwt/plugin.h"

namespace turnpike::plugins::jwt {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing_util::BadConfig;
using testing_util::Parsed;

const std::string kFixtures =
    std::string(TURNPIKE_SOURCE_DIR) + "/tests/unit/plugins/jwt_fixtures/";

std::string slurp(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

const nlohmann::json& tokens() {
  static const nlohmann::json all = nlohmann::json::parse(slurp(kFixtures + "tokens.json"));
  return all;
}
std::string token(const char* name) { return tokens().at(name).get<std::string>(); }

Parsed parse_yaml(const std::string& yaml) {
  return testing_util::parse_block(parse, yaml, "plugins.jwt");
}

class JwtConfigTest : public ::testing::TestWithParam<BadConfig> {};

TEST_P(JwtConfigTest, IsRefusedAtItsPath) {
  testing_util::expect_refused(parse, GetParam(), "plugins.jwt");
}

INSTANTIATE_TEST_SUITE_P(
    Errors, JwtConfigTest,
    ::testing::Values(
        BadConfig{"NoKey", "{issuers: [a]}",
                  "plugins.jwt: a key is required: secret, public_key_file, jwks_file, jwks_url "
                  "or oidc_discovery"},
        BadConfig{"ShortSecret", "{secret: short}",
                  "plugins.jwt.secret: must be at least 32 bytes (RFC 7518 §3.2)"},
        BadConfig{"NotBase64", "{secret: \"a+b=\", secret_base64: true}",
                  "plugins.jwt.secret: not base64url (secret_base64 is true)"},
        BadConfig{"AlgNone",
                  "{secret: 0123456789abcdef0123456789abcdef, algorithms: [HS256, none]}",
                  "plugins.jwt.algorithms[1]: \"none\" is never accepted (an unsigned token "
                  "proves nothing)"},
        BadConfig{"UnknownAlg", "{secret: 0123456789abcdef0123456789abcdef, algorithms: [RS1]}",
                  "plugins.jwt.algorithms[0]: unknown algorithm \"RS1\" (HS256/384/512, "
                  "RS256/384/512, PS256/384/512, ES256/384/512, EdDSA)"},
        BadConfig{"MissingFile", "{public_key_file: /nonexistent.pem}",
                  "plugins.jwt.public_key_file: cannot read \"/nonexistent.pem\""},
        BadConfig{"MissingJwks", "{jwks_file: /nonexistent.json}",
                  "plugins.jwt.jwks_file: cannot read \"/nonexistent.json\""},
        BadConfig{"BadSource",
                  "{secret: 0123456789abcdef0123456789abcdef, token_sources: [body:x]}",
                  "plugins.jwt.token_sources[0]: invalid token source \"body:x\" (header:NAME, "
                  "cookie:NAME or query:NAME)"},
        BadConfig{"ForwardToHost",
                  "{secret: 0123456789abcdef0123456789abcdef, forward_claims: {sub: Host}}",
                  "plugins.jwt.forward_claims.sub: cannot edit \"Host\": the gateway forwards the "
                  "Host it routed on"},
        BadConfig{"Redacted", "{secret: \"***\"}",
                  "plugins.jwt.secret: \"***\" stands for the running secret of this route's "
                  "jwt, and there is none to keep: write the secret itself"},
        BadConfig{"JwksUrlScheme", "{jwks_url: \"ftp://idp.test/jwks\"}",
                  "plugins.jwt.jwks_url: must be an http:// or https:// URL"},
        BadConfig{"JwksUrlNoHost", "{jwks_url: \"https:///jwks\"}",
                  "plugins.jwt.jwks_url: must be an http:// or https:// URL with a host"},
        BadConfig{"BothRemoteSources",
                  "{jwks_url: \"https://idp.test/jwks\", oidc_discovery: \"https://idp.test\"}",
                  "plugins.jwt.oidc_discovery: set jwks_url or oidc_discovery, not both"},
        BadConfig{"RefreshWithoutUrl",
                  "{secret: 0123456789abcdef0123456789abcdef, jwks_refresh: 1m}",
                  "plugins.jwt.jwks_refresh: applies to jwks_url or oidc_discovery, and neither "
                  "is set"},
        BadConfig{"RefreshTooShort", "{jwks_url: \"http://idp.test/jwks\", jwks_refresh: 100ms}",
                  "plugins.jwt.jwks_refresh: must be at least 1s"},
        BadConfig{"Typo", "{secret: 0123456789abcdef0123456789abcdef, isuers: [a]}",
                  "plugins.jwt.isuers: unknown key (did you mean \"issuers\"?)"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(JwtConfig, RemoteSourcesAndTheirDiscoveryDocument) {
  Parsed parsed = parse_yaml("{oidc_discovery: \"https://idp.test/realm/\", jwks_refresh: 30s}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  const auto& c = static_cast<const Config&>(*parsed.config);
  EXPECT_EQ(c.jwks_refresh, std::chrono::seconds(30));
  EXPECT_EQ(discovery_document_url(c.oidc_discovery),
            "https://idp.test/realm/.well-known/openid-configuration");
  EXPECT_EQ(discovery_document_url("https://idp.test/.well-known/openid-configuration"),
            "https://idp.test/.well-known/openid-configuration");
  // Remote keys may rotate to any asymmetric family; HMAC only when asked for.
  EXPECT_TRUE(c.algorithms & alg_bit(Alg::kES256));
  EXPECT_FALSE(c.algorithms & alg_bit(Alg::kHS256));
  EXPECT_EQ(c.to_json(true)["jwks_refresh"], "30s");
  Parsed url = parse_yaml("{jwks_url: \"http://127.0.0.1:1/jwks\"}");
  ASSERT_THAT(url.errors, IsEmpty());
  EXPECT_EQ(static_cast<const Config&>(*url.config).jwks_refresh, std::chrono::minutes(5));
  EXPECT_FALSE(url.config->equals(*parsed.config));
}

TEST(JwtConfig, Rsa1024IsRefused) {
  Parsed parsed = parse_yaml("{public_key_file: " + kFixtures + "rsa1024.pub.pem}");
  ASSERT_EQ(parsed.errors.size(), 1u);
  EXPECT_THAT(parsed.errors[0], ::testing::HasSubstr("RSA key of 1024 bits"));
}

TEST(JwtConfig, ShowsTheSecretAsStarsAndComparesConfigs) {
  Parsed a = parse_yaml("{secret: " + slurp(kFixtures + "secret.txt") + ", audiences: api}");
  Parsed b = parse_yaml("{secret: " + slurp(kFixtures + "secret.txt") + ", audiences: [web]}");
  ASSERT_THAT(a.errors, IsEmpty());
  nlohmann::json shown = a.config->to_json(true);
  EXPECT_EQ(shown["secret"], "***");
  EXPECT_EQ(shown["audiences"], nlohmann::json::array({"api"}));
  EXPECT_EQ(a.config->to_json(false)["secret"], slurp(kFixtures + "secret.txt"));
  EXPECT_EQ(shown["algorithms"], nlohmann::json::array({"HS256", "HS384", "HS512"}));
  EXPECT_TRUE(a.config->equals(
      *parse_yaml("{secret: " + slurp(kFixtures + "secret.txt") + ", audiences: api}").config));
  EXPECT_FALSE(a.config->equals(*b.config));
}

TEST(JwtConfig, AShortSecretIsUsedOnlyByTheHashesItIsLongEnoughFor) {
  Parsed parsed = parse_yaml("{secret: 0123456789abcdef0123456789abcdef}");  // 32 bytes
  ASSERT_THAT(parsed.errors, IsEmpty());
  EXPECT_EQ(parsed.config->to_json(true)["algorithms"], nlohmann::json::array({"HS256"}));
  EXPECT_FALSE(key_from_secret(std::string(32, 'k'))->verifies(Alg::kHS384));
  EXPECT_TRUE(key_from_secret(std::string(48, 'k'))->verifies(Alg::kHS384));
}

TEST(JwtConfig, PrivatePartsOfAJwksAreNeverKept) {
  Parsed parsed = parse_yaml("{jwks_file: " + kFixtures + "jwks_private.json}");
  ASSERT_THAT(parsed.errors, IsEmpty());
  const auto& config = static_cast<const Config&>(*parsed.config);
  ASSERT_EQ(config.jwks_keys.size(), 1u);
  EXPECT_TRUE(config.jwks_keys[0].secret.empty());
  EXPECT_EQ(parsed.config->to_json(true).dump().find("\"d\""), std::string::npos);
}

// One exchange against the plugin built from `yaml`.
class JwtTest : public ::testing::Test {
 protected:
  void configure(const std::string& yaml) {
    Parsed parsed = parse_yaml(yaml);
    ASSERT_THAT(parsed.errors, IsEmpty());
    config_ = parsed.config;
    plugin_ = make(*config_);
  }
  Verdict request(std::initializer_list<std::pair<std::string_view, std::string_view>> fields,
                  std::string_view query = {}) {
    ctx_ = std::make_unique<Context>();
    headers_.clear();
    ctx_->headers = &headers_;
    ctx_->query = query;
    for (const auto& [name, value] : fields) {
      headers_.push({name, value, nullptr, http::classify_header(name)});
    }
    return plugin_->on_request(*ctx_);
  }
  Verdict bearer(const std::string& token) {
    auth_ = "Bearer " + token;
    return request({{"Authorization", auth_}});
  }
  std::vector<std::string> lines(const HeaderEdits& edits) const {
    std::vector<std::string> out;
    edits.for_each_line([&](std::string_view name, std::string_view value) {
      out.push_back(std::string(name) + ": " + std::string(value));
    });
    return out;
  }

  std::shared_ptr<const config::PluginConfig> config_;
  std::shared_ptr<const Plugin> plugin_;
  http::HeaderList headers_;
  std::unique_ptr<Context> ctx_;
  std::string auth_;
};

std::string all_keys_yaml() {
  return "{secret: " + slurp(kFixtures + "secret.txt") + ", jwks_file: " + kFixtures +
         "jwks.json, algorithms: [HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, "
         "PS512, ES256, ES384, EdDSA], issuers: [\"https://issuer.test\"], audiences: api}";
}

TEST_F(JwtTest, TokensOfEveryAlgorithmFromPyJwtAndOpenssl) {
  configure(all_keys_yaml());
  for (const char* minter : {"pyjwt_", "openssl_"}) {
    for (const char* alg : {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384",
                            "PS512", "ES256", "ES384", "EdDSA"}) {
      std::string name = std::string(minter) + alg;
      Verdict v = bearer(token(name.c_str()));
      EXPECT_EQ(v.kind, Verdict::Kind::kContinue) << name << ": " << v.message;
    }
  }
}

TEST_F(JwtTest, APublicKeyFileVerifiesItsOwnFamilyOnly) {
  configure("{public_key_file: " + kFixtures + "p256.pub.pem}");
  EXPECT_EQ(bearer(token("pyjwt_ES256")).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(bearer(token("pyjwt_RS256")).kind, Verdict::Kind::kRefuse);
  configure("{public_key_file: " + kFixtures + "rsa.pub.pem}");
  EXPECT_EQ(bearer(token("openssl_PS512")).kind, Verdict::Kind::kContinue);
}

struct Attack {
  const char* token;
  const char* message;
};

class JwtAttackTest : public JwtTest, public ::testing::WithParamInterface<Attack> {};

TEST_P(JwtAttackTest, IsRefusedWith401AndInvalidToken) {
  configure(all_keys_yaml());
  Verdict v = bearer(token(GetParam().token));
  EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(v.error, http::Error::kUnauthorized);
  EXPECT_EQ(v.message, GetParam().message);
  EXPECT_THAT(lines(ctx_->response_headers),
              ElementsAre("WWW-Authenticate: Bearer error=\"invalid_token\""));
}

INSTANTIATE_TEST_SUITE_P(Matrix, JwtAttackTest,
                         ::testing::Values(Attack{"alg_none", "malformed token"},
                                           Attack{"alg_none_with_signature",
                                                  "algorithm not allowed"},
                                           Attack{"hs256_with_rsa_public_key", "invalid signature"},
                                           Attack{"wrong_kid", "unknown signing key"},
                                           Attack{"expired", "token expired"},
                                           Attack{"not_yet_valid", "token not yet valid"},
                                           Attack{"issued_in_future", "token issued in the future"},
                                           Attack{"wrong_iss", "issuer not accepted"},
                                           Attack{"wrong_aud", "audience not accepted"},
                                           Attack{"bad_base64_padding", "malformed token"},
                                           Attack{"bad_base64_char", "malformed token"},
                                           Attack{"truncated_signature", "invalid signature"},
                                           Attack{"big_64k", "malformed token"},
                                           Attack{"duplicate_header_keys", "malformed token"},
                                           Attack{"duplicate_claim_keys", "malformed claims"},
                                           Attack{"rotated_key", "unknown signing key"},
                                           Attack{"signed_by_1024_bit_key", "invalid signature"}),
                         [](const auto& info) { return std::string(info.param.token); });

TEST_F(JwtTest, HmacSecretNeverVerifiesAnRsaSignedAlgorithmAndViceVersa) {
  // Only the RSA key configured, HS256 allowed: the RSA key is not an HMAC key.
  configure("{public_key_file: " + kFixtures + "rsa.pub.pem, algorithms: [HS256, RS256]}");
  EXPECT_EQ(bearer(token("hs256_with_rsa_public_key")).message, "unknown signing key");
  EXPECT_EQ(bearer(token("pyjwt_RS256")).kind, Verdict::Kind::kContinue);
}

TEST_F(JwtTest, AlgorithmsNotListedAreRefused) {
  configure("{jwks_file: " + kFixtures + "jwks.json, algorithms: [ES256]}");
  EXPECT_EQ(bearer(token("pyjwt_RS256")).message, "algorithm not allowed");
  EXPECT_EQ(bearer(token("pyjwt_ES256")).kind, Verdict::Kind::kContinue);
}

TEST_F(JwtTest, NoTokenIsA401WithoutAnError) {
  configure(all_keys_yaml());
  Verdict v = request({{"Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l"}});
  EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(v.error, http::Error::kUnauthorized);
  EXPECT_EQ(v.message, "missing bearer token");
  EXPECT_THAT(lines(ctx_->response_headers), ElementsAre("WWW-Authenticate: Bearer"));
}

TEST_F(JwtTest, MissingScopeIsA403) {
  configure("{jwks_file: " + kFixtures + "jwks.json, required_scopes: [read, write]}");
  Verdict v = bearer(token("missing_scope"));
  EXPECT_EQ(v.kind, Verdict::Kind::kRefuse);
  EXPECT_EQ(v.error, http::Error::kForbidden);
  EXPECT_THAT(lines(ctx_->response_headers),
              ElementsAre("WWW-Authenticate: Bearer error=\"insufficient_scope\""));
  EXPECT_EQ(bearer(token("pyjwt_RS256")).kind, Verdict::Kind::kContinue);  // "scope" string
  EXPECT_EQ(bearer(token("scp_list")).kind, Verdict::Kind::kContinue);     // "scp" list
}

TEST_F(JwtTest, AudienceMayBeAList) {
  configure("{jwks_file: " + kFixtures + "jwks.json, audiences: [api]}");
  EXPECT_EQ(bearer(token("aud_list")).kind, Verdict::Kind::kContinue);
}

TEST_F(JwtTest, LeewayStretchesExpAndNbf) {
  configure("{jwks_file: " + kFixtures + "jwks.json, leeway: 1000000000s}");
  EXPECT_EQ(bearer(token("expired")).kind, Verdict::Kind::kContinue);
}

TEST_F(JwtTest, ForwardsClaimsOverTheClientsOwnAndNamesTheConsumer) {
  configure("{jwks_file: " + kFixtures +
            "jwks.json, consumer_claim: sub, "
            "forward_claims: {sub: X-User-Id, email: X-Email, groups: X-Groups}}");
  auth_ = "Bearer " + token("pyjwt_RS256");
  Verdict v = request({{"Authorization", auth_}, {"X-User-Id", "forged"}, {"X-Groups", "admin"}});
  ASSERT_EQ(v.kind, Verdict::Kind::kContinue) << v.message;
  EXPECT_EQ(ctx_->consumer, "alice");
  EXPECT_TRUE(ctx_->request_headers.drops("X-User-Id"));
  EXPECT_TRUE(ctx_->request_headers.drops("X-Groups"));  // absent from the token: removed
  EXPECT_THAT(lines(ctx_->request_headers),
              ElementsAre("X-User-Id: alice", "X-Email: alice@example.test"));
  // The same token again comes from the cache, with the same effects.
  v = request({{"Authorization", auth_}});
  EXPECT_EQ(ctx_->consumer, "alice");
  EXPECT_THAT(lines(ctx_->request_headers),
              ElementsAre("X-User-Id: alice", "X-Email: alice@example.test"));
}

TEST_F(JwtTest, AClaimWithControlCharactersIsNotForwarded) {
  configure("{jwks_file: " + kFixtures + "jwks.json, forward_claims: {email: X-Email}}");
  ASSERT_EQ(bearer(token("claims_with_crlf")).kind, Verdict::Kind::kContinue);
  EXPECT_TRUE(ctx_->request_headers.drops("X-Email"));
  EXPECT_THAT(lines(ctx_->request_headers), IsEmpty());
}

TEST_F(JwtTest, ConsumerClaimMissingIsA401) {
  configure("{jwks_file: " + kFixtures + "jwks.json, consumer_claim: sub}");
  EXPECT_EQ(bearer(token("no_sub")).message, "consumer claim missing");
}

TEST_F(JwtTest, TokenSourcesAreTriedInOrder) {
  configure("{jwks_file: " + kFixtures +
            "jwks.json, "
            "token_sources: [header:X-Token, cookie:session, query:access_token]}");
  std::string t = token("pyjwt_ES256");
  std::string cookie = "theme=dark; session=" + t + "; lang=en";
  std::string query = "a=1&access_token=" + t;
  EXPECT_EQ(request({{"X-Token", t}}).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(request({{"Cookie", cookie}}).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(request({}, query).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(request({{"Cookie", "session="}}).message, "missing bearer token");
  // Authorization is not a source here.
  EXPECT_EQ(bearer(t).message, "missing bearer token");
}

TEST_F(JwtTest, TheWorkersCacheKeepsEachRoutesVerdictsApart) {
  configure("{jwks_file: " + kFixtures + "jwks.json}");
  ASSERT_EQ(bearer(token("pyjwt_RS256")).kind, Verdict::Kind::kContinue);  // cached for this one
  configure("{jwks_file: " + kFixtures + "jwks.json, required_scopes: [admin]}");
  EXPECT_EQ(bearer(token("pyjwt_RS256")).error, http::Error::kForbidden);
}

TEST_F(JwtTest, ARefusedTokenIsNotCached) {
  configure("{jwks_file: " + kFixtures + "jwks.json, required_scopes: [admin]}");
  EXPECT_EQ(bearer(token("pyjwt_RS256")).error, http::Error::kForbidden);
  EXPECT_EQ(bearer(token("pyjwt_RS256")).error, http::Error::kForbidden);
}

// A fixture JWKS copied to DIR/jwks.json (over what is there); the copy's path.
std::string jwks_copy(const std::filesystem::path& dir, const char* fixture) {
  std::filesystem::create_directories(dir);
  std::string file = (dir / "jwks.json").string();
  std::filesystem::copy_file(kFixtures + fixture, file,
                             std::filesystem::copy_options::overwrite_existing);
  return file;
}

TEST(JwksFile, ARotatedKeyReplacesTheOldOneAndABadFileKeepsTheLastGoodKeys) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "turnpike_jwks_test";
  std::string file = jwks_copy(dir, "jwks.json");
  std::vector<config::ConfigError> errors;
  auto config = parse(
      config::Reader::root(YAML::Load("{jwks_file: " + file + "}"), errors, {}, "plugins.jwt"));
  ASSERT_TRUE(config);
  const auto& c = static_cast<const Config&>(*config);
  auto store = std::make_shared<KeyStore>(std::vector<Key>{}, c.jwks_keys);
  JwksFile source(file, c.jwks_stamp, store);
  auto verifies = [&](const char* name) {
    return verify_compact(token(name), store->current()->keys, c.algorithms).failure ==
           Failure::kNone;
  };
  EXPECT_TRUE(verifies("pyjwt_RS256"));
  EXPECT_FALSE(verifies("rotated_key"));
  EXPECT_FALSE(source.refresh());  // unchanged

  jwks_copy(dir, "jwks_rotated.json");
  EXPECT_TRUE(source.refresh());
  EXPECT_EQ(store->version(), 1u);
  EXPECT_TRUE(verifies("rotated_key"));
  EXPECT_FALSE(verifies("pyjwt_RS256"));  // its key was removed
  EXPECT_TRUE(verifies("pyjwt_ES256"));   // kept across the rotation

  std::ofstream(file) << "{\"keys\": [";  // a half-written file
  EXPECT_FALSE(source.refresh());
  EXPECT_EQ(store->refresh_failures.load(), 1u);
  EXPECT_TRUE(verifies("rotated_key"));
  std::filesystem::remove_all(dir);
}

// The background poller (not refresh() called by hand): a plugin's file is watched for as long as
// the plugin lives, through every poll, not just the first.
TEST_F(JwtTest, ThePollerKeepsWatchingTheFile) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "turnpike_jwks_poll_test";
  std::string file = jwks_copy(dir, "jwks.json");
  configure("{jwks_file: " + file + "}");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // a poll or two go by
  jwks_copy(dir, "jwks_rotated.json");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (bearer(token("rotated_key")).kind != Verdict::Kind::kContinue &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(bearer(token("rotated_key")).kind, Verdict::Kind::kContinue);
  EXPECT_EQ(bearer(token("pyjwt_RS256")).message, "unknown signing key");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace turnpike::plugins::jwt
