"""jwt (SPEC §3) on a real gateway: tokens minted here with PyJWT against keys made here, a route
protected with jwks_file (and one with a secret), the 401/403 answers with their
WWW-Authenticate, forwarded claims that a client cannot forge, a JWKS file whose key is rotated
while the gateway runs (and a broken rewrite that keeps the last good keys), and the secret
shown as "***" by GET /config."""
import json
import os
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from support.client import assert_error, wait_until
from support.upstream import echo

SECRET = "e2e-secret-e2e-secret-e2e-secret-e2e-secret"  # 43 bytes: HS256 and HS384
ISSUER = "https://issuer.test"
CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
admin: {address: "$admin"}
routes:
  - name: api
    paths: ["/api/**"]
    upstream: "$up"
    plugins:
      jwt:
        jwks_file: "$jwks"
        issuers: ["%s"]
        audiences: api
        required_scopes: [read]
        forward_claims: {sub: X-User-Id}
        consumer_claim: sub
  - name: hmac
    paths: ["/hmac/**"]
    upstream: "$up"
    plugins:
      jwt:
        secret: "%s"
        algorithms: [HS256]
        token_sources: ["header:Authorization", "cookie:session", "query:access_token"]
""" % (ISSUER, SECRET)


def jwk(key, kid):
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    doc = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
    return dict(doc, kid=kid, use="sig")


def write_jwks(path, *keys):
    """Writes the JWKS as a deployment would: a new file renamed over the old one."""
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"keys": list(keys)}, f)
    os.replace(tmp, path)


def claims(**over):
    now = int(time.time())
    base = {"iss": ISSUER, "aud": "api", "sub": "alice", "scope": "read", "iat": now,
            "exp": now + 600}
    base.update(over)
    return base


@pytest.fixture(scope="module")
def env(module_stack):
    keys = {"rsa-1": rsa.generate_private_key(65537, 2048),
            "rsa-2": rsa.generate_private_key(65537, 2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1())}
    path = module_stack.workdir / "jwks.json"
    write_jwks(path, jwk(keys["rsa-1"], "rsa-1"), jwk(keys["ec-1"], "ec-1"))
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(CONFIG, up=up.url, jwks=str(path))
    return gw, up, keys, path


def sign(keys, kid, **over):
    alg = "ES256" if kid.startswith("ec") else "RS256"
    return jwt.encode(claims(**over), keys[kid], algorithm=alg, headers={"kid": kid})


def bearer(token):
    return [("Authorization", "Bearer " + token)]


def test_a_valid_token_passes_and_its_claims_are_forwarded(env):
    gw, up, keys, _ = env
    up.clear()
    for kid in ("rsa-1", "ec-1"):
        resp = gw.request("GET", "/api/x", headers=bearer(sign(keys, kid)) + [
            ("X-User-Id", "forged")])
        assert resp.status == 200, resp
        assert up.last().header("X-User-Id") == "alice"  # the client's copy is replaced
        assert up.last().header_all("X-User-Id") == ["alice"]


def test_no_token_is_401_with_a_bare_challenge(env):
    gw, up, _, _ = env
    up.clear()
    resp = gw.request("GET", "/api/x")
    assert_error(resp, 401, "unauthorized")
    assert resp.header("WWW-Authenticate") == "Bearer"
    assert up.requests == []


@pytest.mark.parametrize("case", ["expired", "wrong_issuer", "wrong_audience", "alg_none",
                                  "unknown_kid", "garbage", "hs256_with_the_public_key"])
def test_an_invalid_token_is_401_invalid_token(env, case):
    gw, up, keys, path = env
    up.clear()
    if case == "expired":
        token = sign(keys, "rsa-1", exp=int(time.time()) - 10)
    elif case == "wrong_issuer":
        token = sign(keys, "rsa-1", iss="https://evil.test")
    elif case == "wrong_audience":
        token = sign(keys, "rsa-1", aud="web")
    elif case == "alg_none":
        token = jwt.encode(claims(), None, algorithm="none")
    elif case == "unknown_kid":
        token = sign(keys, "rsa-2")
    elif case == "garbage":
        token = "not.a.jwt"
    else:  # the RSA public key (PEM) used as an HMAC secret: the classic confusion
        from cryptography.hazmat.primitives import serialization
        pem = keys["rsa-1"].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        import hashlib, hmac, base64
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
        signing_input = b64(b'{"alg":"HS256","kid":"rsa-1"}') + "." + b64(
            json.dumps(claims()).encode())
        token = signing_input + "." + b64(hmac.new(pem, signing_input.encode(),
                                                   hashlib.sha256).digest())
    resp = gw.request("GET", "/api/x", headers=bearer(token))
    assert_error(resp, 401, "unauthorized")
    assert resp.header("WWW-Authenticate") == 'Bearer error="invalid_token"'
    assert up.requests == []


def test_a_missing_scope_is_403(env):
    gw, up, keys, _ = env
    up.clear()
    resp = gw.request("GET", "/api/x", headers=bearer(sign(keys, "rsa-1", scope="write")))
    assert_error(resp, 403, "forbidden")
    assert resp.header("WWW-Authenticate") == 'Bearer error="insufficient_scope"'
    assert up.requests == []


def test_a_64k_token_is_refused_not_a_crash(env):
    gw, _, keys, _ = env
    token = sign(keys, "rsa-1", padding="x" * 40000)
    resp = gw.request("GET", "/api/x", headers=bearer(token))
    assert resp.status in (401, 431), resp
    assert gw.request("GET", "/api/x", headers=bearer(sign(keys, "rsa-1"))).status == 200


def test_hmac_route_and_token_sources(env):
    gw, _, _, _ = env
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert gw.request("GET", "/hmac/x", headers=bearer(token)).status == 200
    assert gw.request("GET", "/hmac/x", headers=[("Cookie", "a=b; session=" + token)]).status == 200
    assert gw.request("GET", "/hmac/x?access_token=" + token).status == 200
    # HS384 is not listed for this route.
    other = jwt.encode(claims(), SECRET, algorithm="HS384")
    assert_error(gw.request("GET", "/hmac/x", headers=bearer(other)), 401, "unauthorized")


def test_config_shows_the_secret_as_stars(env):
    gw, _, _, path = env
    doc = gw.admin().get_json("/config")
    routes = {r["name"]: r for r in doc["config"]["routes"]} if "config" in doc else {
        r["name"]: r for r in doc["routes"]}
    assert routes["hmac"]["plugins"]["jwt"]["secret"] == "***"
    assert routes["api"]["plugins"]["jwt"]["jwks_file"] == str(path)
    assert SECRET not in json.dumps(doc)


def test_a_rotated_jwks_file_is_picked_up_and_a_broken_one_keeps_the_last_good_keys(env):
    gw, _, keys, path = env
    old = sign(keys, "rsa-1")
    new = sign(keys, "rsa-2")
    assert gw.request("GET", "/api/x", headers=bearer(old)).status == 200  # now cached
    write_jwks(path, jwk(keys["rsa-2"], "rsa-2"), jwk(keys["ec-1"], "ec-1"))
    wait_until(lambda: gw.request("GET", "/api/x", headers=bearer(new)).status == 200,
               timeout=5, what="the rotated key")
    # The removed key's tokens stop at once, the cached one included.
    assert_error(gw.request("GET", "/api/x", headers=bearer(old)), 401, "unauthorized")
    # A half-written JWKS: logged, and the last good keys stay.
    with open(path, "w") as f:
        f.write('{"keys": [')
    wait_until(lambda: "jwks_file not reloaded" in gw.logs(), timeout=5, what="the warning")
    assert gw.request("GET", "/api/x", headers=bearer(sign(keys, "ec-1"))).status == 200
    assert gw.request("GET", "/api/x", headers=bearer(new)).status == 200
    write_jwks(path, jwk(keys["rsa-1"], "rsa-1"), jwk(keys["ec-1"], "ec-1"))


def test_the_config_dump_with_its_stars_loads_back_and_keeps_the_secret(env):
    gw, _, _, _ = env
    api = gw.admin()
    doc = api.get_json("/config")
    dump = json.dumps(doc["config"])
    assert SECRET not in dump
    resp = api.post("/config", dump, content_type="application/json")
    assert resp.status == 200, resp
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert gw.request("GET", "/hmac/x", headers=bearer(token)).status == 200
    assert api.get_json("/config")["hash"] == doc["hash"]
