"""jwt with remote keys (SPEC §3 `jwks_url`, `oidc_discovery`, `jwks_refresh`) on a real gateway:
key servers here answer over HTTP with JWKS documents the tests change. A key rotated on the
server is used within `jwks_refresh` and the removed key's tokens stop; a token with an unknown
`kid` waits for one early refresh, at most once per `jwks_refresh`; a key server that goes down
keeps the last good keys working (logged and counted); OIDC discovery finds the JWKS through the
issuer's OpenID configuration."""
import json
import threading
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from support.client import assert_error, wait_until
from support.upstream import echo, response_head

CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
admin: {address: "$admin"}
routes:
  - name: rotating
    paths: ["/rotating/**"]
    upstream: "$up"
    plugins:
      jwt: {jwks_url: "$rotating_url", jwks_refresh: 1s}
  - name: slow
    paths: ["/slow/**"]
    upstream: "$up"
    timeout: 5s
    plugins:
      jwt: {jwks_url: "$slow_url", jwks_refresh: 1h}
  - name: oidc
    paths: ["/oidc/**"]
    upstream: "$up"
    plugins:
      jwt: {oidc_discovery: "$issuer", issuers: ["$issuer"], jwks_refresh: 1h}
"""


class KeyServer:
    """Serves a JWKS (and an OpenID configuration) that a test can change or take down."""

    def __init__(self, stack, issuer_path="/issuer"):
        self.lock = threading.Lock()
        self.keys = []
        self.down = False
        self.issuer_path = issuer_path
        self.server = stack.upstream(self._handle)

    @property
    def url(self):
        return self.server.url.rstrip("/")

    def set_keys(self, *keys):
        with self.lock:
            self.keys = list(keys)

    def fetches(self, path="/jwks"):
        return sum(1 for r in self.server.requests if r.path == path)

    def _handle(self, req, ctx):
        with self.lock:
            if self.down:
                ctx.send(response_head(503, [("Content-Length", "0")]))
                return True
            if req.path == self.issuer_path + "/.well-known/openid-configuration":
                doc = {"issuer": self.url + self.issuer_path, "jwks_uri": self.url + "/jwks"}
            elif req.path == "/jwks":
                doc = {"keys": self.keys}
            else:
                ctx.send(response_head(404, [("Content-Length", "0")]))
                return True
        body = json.dumps(doc).encode()
        ctx.send(response_head(200, [("Content-Type", "application/json"),
                                     ("Content-Length", str(len(body)))]) + body)
        return True


def jwk(key, kid):
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    doc = json.loads(jwt.algorithms.get_default_algorithms()[alg].to_jwk(key.public_key()))
    return dict(doc, kid=kid, use="sig")


def token(key, kid, **claims):
    alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
    now = int(time.time())
    body = {"sub": "alice", "iat": now, "exp": now + 600}
    body.update(claims)
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def bearer(t):
    return [("Authorization", "Bearer " + t)]


@pytest.fixture(scope="module")
def env(module_stack):
    keys = {"a": rsa.generate_private_key(65537, 2048),
            "b": rsa.generate_private_key(65537, 2048),
            "c": ec.generate_private_key(ec.SECP256R1())}
    rotating, slow, oidc = KeyServer(module_stack), KeyServer(module_stack), KeyServer(module_stack)
    rotating.set_keys(jwk(keys["a"], "a"))
    slow.set_keys(jwk(keys["a"], "a"))
    oidc.set_keys(jwk(keys["c"], "c"))
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(CONFIG, up=up.url, rotating_url=rotating.url + "/jwks",
                              slow_url=slow.url + "/jwks", issuer=oidc.url + "/issuer")
    return gw, keys, rotating, slow, oidc


def status(gw, path, t):
    return gw.request("GET", path, headers=bearer(t)).status


def test_keys_from_the_url_verify_tokens(env):
    gw, keys, _, _, _ = env
    assert status(gw, "/rotating/x", token(keys["a"], "a")) == 200
    resp = gw.request("GET", "/rotating/x", headers=bearer(token(keys["b"], "b")))
    assert_error(resp, 401, "unauthorized")
    assert resp.header("WWW-Authenticate") == 'Bearer error="invalid_token"'


def test_a_key_rotated_on_the_server_is_used_within_jwks_refresh(env):
    gw, keys, rotating, _, _ = env
    old, new = token(keys["a"], "a"), token(keys["b"], "b")
    assert status(gw, "/rotating/x", old) == 200  # cached now
    rotating.set_keys(jwk(keys["b"], "b"))
    started = time.monotonic()
    wait_until(lambda: status(gw, "/rotating/x", new) == 200, timeout=3, what="the new key")
    assert time.monotonic() - started < 2.5  # jwks_refresh is 1s
    # The removed key's tokens stop, the cached one included.
    wait_until(lambda: status(gw, "/rotating/x", old) == 401, timeout=3, what="the old key gone")


def test_an_unknown_kid_waits_for_one_early_refresh_at_most_once_per_jwks_refresh(env):
    gw, keys, _, slow, _ = env
    assert status(gw, "/slow/x", token(keys["a"], "a")) == 200
    wait_until(lambda: slow.fetches() >= 1, what="the first fetch")
    before = slow.fetches()
    slow.set_keys(jwk(keys["a"], "a"), jwk(keys["b"], "b"))
    # The first request with kid "b" waits for a refresh (jwks_refresh is an hour away) and passes.
    assert status(gw, "/slow/x", token(keys["b"], "b")) == 200
    assert slow.fetches() == before + 1
    # Another unknown kid within the hour: refused at once, no fetch.
    slow.set_keys(jwk(keys["a"], "a"), jwk(keys["b"], "b"), jwk(keys["c"], "c"))
    for _ in range(5):
        assert status(gw, "/slow/x", token(keys["c"], "c")) == 401
    assert slow.fetches() == before + 1


def test_a_key_server_down_keeps_the_last_good_keys(env):
    gw, keys, rotating, _, _ = env
    rotating.set_keys(jwk(keys["b"], "b"))
    wait_until(lambda: status(gw, "/rotating/x", token(keys["b"], "b")) == 200, timeout=3,
               what="key b")
    failures = lambda: gw.admin().metrics().value("turnpike_jwt_key_refreshes_total",
                                                  result="failure")
    before = failures()
    rotating.down = True
    try:
        wait_until(lambda: failures() > before, timeout=4, what="a failed refresh counted")
        wait_until(lambda: "jwks refresh failed" in gw.logs(), timeout=2, what="the warning")
        for _ in range(3):  # fresh tokens: not from the cache
            assert status(gw, "/rotating/x", token(keys["b"], "b", jti=str(time.time()))) == 200
    finally:
        rotating.down = False


def test_oidc_discovery_finds_the_jwks(env):
    gw, keys, _, _, oidc = env
    issuer = oidc.url + "/issuer"
    assert status(gw, "/oidc/x", token(keys["c"], "c", iss=issuer)) == 200
    assert oidc.fetches("/issuer/.well-known/openid-configuration") >= 1
    assert oidc.fetches("/jwks") >= 1
    assert status(gw, "/oidc/x", token(keys["c"], "c", iss="https://other.test")) == 401


def test_config_shows_the_sources(env):
    gw, _, rotating, _, oidc = env
    doc = gw.admin().get_json("/config")
    routes = {r["name"]: r for r in (doc.get("config") or doc)["routes"]}
    assert routes["rotating"]["plugins"]["jwt"]["jwks_url"] == rotating.url + "/jwks"
    assert routes["rotating"]["plugins"]["jwt"]["jwks_refresh"] == "1s"
    assert routes["oidc"]["plugins"]["jwt"]["oidc_discovery"] == oidc.url + "/issuer"
