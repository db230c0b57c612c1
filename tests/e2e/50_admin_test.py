"""The admin API (SPEC §6): probes, the bearer token, the running config (redacted, hashed,
replaced, validated), routes, upstreams with their pooled connections, and route explanation."""
import json
import re
import threading
import time

import pytest

from support.admin import dumps
from support.client import port_accepts, wait_until
from support.gateway import free_port
from support.upstream import by_path, echo, respond

TOKEN = "e2e-admin-t0ken"
CONSUMER_KEY = "consumer-key-9f8e7d"

BASE = """
admin: {address: "$admin", token: "$token"}
consumers:
  - {name: mobile-app, keys: ["$key"], groups: [premium]}
upstreams:
  svc:
    targets: [{address: "$up", weight: 2}]
routes:
  - {name: items, paths: ["/items/**"], upstream: svc}
  - {name: echo, path: "/echo", upstream: "builtin:echo"}
"""

PROTECTED = [
    ("GET", "/metrics"),
    ("GET", "/health/metrics"),
    ("GET", "/config"),
    ("POST", "/config"),
    ("POST", "/config/validate"),
    ("GET", "/routes"),
    ("GET", "/upstreams"),
    ("GET", "/routes/explain?method=GET&host=a&path=/items/1"),
]


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    return gw, up


def api_error(resp, status):
    assert resp.status == status, resp
    assert (resp.header("Content-Type") or "").startswith("application/json"), resp
    return resp.json()


# -- probes and the token ----------------------------------------------------------------------

@pytest.mark.parametrize("token", [None, "wrong", TOKEN], ids=["no-token", "wrong", "right"])
def test_probes_never_ask_for_the_token(env, token):
    gw, _ = env
    api = gw.admin(token=token)
    health = api.get("/health")
    assert (health.status, health.json()) == (200, {"status": "ok"}), health
    ready = api.get("/ready")
    assert (ready.status, ready.json()) == (200, {"status": "ready"}), ready


@pytest.mark.parametrize("method,path", PROTECTED, ids=[p for _, p in PROTECTED])
def test_every_other_endpoint_needs_the_token(env, method, path):
    gw, _ = env
    generation = gw.admin(TOKEN).generation()
    for label, headers, token in [
        ("no Authorization", [], None),
        ("wrong token", [], "not-" + TOKEN),
        ("token prefix", [], TOKEN[:-1]),
        ("token plus a byte", [], TOKEN + "x"),
        ("Basic scheme", [("Authorization", f"Basic {TOKEN}")], None),
        ("bare token", [("Authorization", TOKEN)], None),
    ]:
        api = gw.admin(token=token)
        resp = api.request(method, path, token=token, headers=headers,
                           body=b"routes: []\n" if method == "POST" else b"",
                           content_type="application/yaml")
        doc = api_error(resp, 401)
        assert (resp.header("WWW-Authenticate") or "").startswith("Bearer"), (label, resp)
        assert doc.get("error") == "unauthorized", (label, doc)
        assert TOKEN not in resp.body.decode(), f"{label}: the token leaked in {resp!r}"
    # Nothing was applied by the refused POSTs.
    assert gw.admin(TOKEN).generation() == generation
    assert gw.request("GET", "/items/x").status == 200


def test_right_token_opens_every_endpoint(env):
    gw, _ = env
    api = gw.admin(TOKEN)
    for method, path in PROTECTED:
        if method == "POST":
            continue  # covered below, with real bodies
        resp = api.get(path)
        assert resp.status == 200, (path, resp)


def test_no_token_configured_means_no_token_needed(gateway):
    gw = gateway("""
        admin: {address: "$admin"}
        routes:
          - {path: "/**", upstream: "builtin:echo"}
    """)
    api = gw.admin(token=None)
    assert api.get("/config").status == 200
    assert api.get("/metrics").status == 200
    assert api.get("/ready").status == 200


def test_unknown_admin_path_is_404_json(env):
    gw, _ = env
    resp = gw.admin(TOKEN).get("/nope")
    assert resp.status == 404, resp
    assert isinstance(resp.json(), dict)


def test_admin_address_not_loopback_without_token_is_refused_at_start(gateway):
    admin_port = free_port()
    gw = gateway("""
        admin: {address: "0.0.0.0:$ap"}
        routes:
          - {path: "/**", upstream: "builtin:echo"}
    """, start=False, ap=admin_port)
    gw.launch()
    assert gw.wait(timeout=10) == 1, gw.logs()
    stderr = gw.stderr_path.read_text()
    assert "admin.token" in stderr, stderr
    assert not port_accepts(gw.port) and not port_accepts(admin_port)


# -- GET /config -------------------------------------------------------------------------------

def test_config_is_redacted_and_hashed(env):
    gw, _ = env
    api = gw.admin(TOKEN)
    resp = api.get("/config")
    assert resp.status == 200, resp
    text = resp.body.decode()
    assert TOKEN not in text and CONSUMER_KEY not in text, f"a secret leaked: {text}"
    doc = resp.json()
    assert set(doc) >= {"generation", "hash", "config"}, doc
    assert isinstance(doc["generation"], int) and doc["generation"] >= 1
    assert re.fullmatch(r"[0-9a-f]{64}", doc["hash"]), doc["hash"]
    config = doc["config"]
    assert config["admin"]["token"] == "***", dumps(config["admin"])
    assert config["consumers"][0]["keys"] == ["***"], dumps(config["consumers"])
    assert config["consumers"][0]["name"] == "mobile-app"
    assert [r["name"] for r in config["routes"]] == ["items", "echo"], dumps(config["routes"])
    assert api.get_json("/config")["hash"] == doc["hash"], "hash changed with nothing applied"


def test_hash_is_stable_for_the_same_config_and_changes_with_it(gateway, upstream):
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    api = gw.admin(TOKEN)
    first = api.get_json("/config")

    # The same configuration again, as YAML text: a new generation, the same hash.
    resp = api.post("/config", gw.config_text(gw.port))
    assert resp.status == 200, resp
    assert resp.json() == {"generation": first["generation"] + 1}, resp
    again = api.get_json("/config")
    assert again["generation"] == first["generation"] + 1
    assert again["hash"] == first["hash"], "the same config got another hash"

    # Written differently (JSON, other key order, `paths` for `path`): still the same config.
    same = json.dumps({
        "routes": [{"upstream": "svc", "paths": ["/items/**"], "name": "items"},
                   {"name": "echo", "paths": ["/echo"], "upstream": "builtin:echo"}],
        "upstreams": {"svc": {"targets": [{"weight": 2, "address": up.address}]}},
        "consumers": [{"groups": ["premium"], "keys": [CONSUMER_KEY], "name": "mobile-app"}],
        "admin": {"token": TOKEN, "address": f"127.0.0.1:{gw.admin_port}"},
        "server": {"listeners": [{"name": "public", "address": f"127.0.0.1:{gw.port}"}]},
    })
    resp = api.post("/config", same, content_type="application/json")
    assert resp.status == 200, resp
    assert api.get_json("/config")["hash"] == first["hash"], "same config as JSON: other hash"

    # A real change (a route's path) changes it; going back restores it.
    changed = gw.config_text(gw.port).replace('"/items/**"', '"/things/**"')
    assert api.post("/config", changed).status == 200
    changed_hash = api.get_json("/config")["hash"]
    assert changed_hash != first["hash"]

    # A secret is part of the config too: another consumer key is another config.
    other_key = gw.config_text(gw.port, key="another-key")
    assert api.post("/config", other_key).status == 200
    key_hash = api.get_json("/config")["hash"]
    assert key_hash not in (first["hash"], changed_hash)

    assert api.post("/config", gw.config_text(gw.port)).status == 200
    assert api.get_json("/config")["hash"] == first["hash"]


# -- POST /config and /config/validate ---------------------------------------------------------

BAD = """
admin: {address: "$admin", token: "$token"}
server:
  listeners: [{name: public, address: "$listen"}]
  limits: {header_timeout: 10 parsecs, max_header_byte: 1}
upstreams:
  svc: {targets: [{address: "$up", weight: 0}]}
routes:
  - {name: fresh, path: "/fresh", upstream: nope}
  - {name: other, path: "/other", upstream: "builtin:echo", timeout: soon}
"""
BAD_PATHS = {"server.limits.header_timeout", "server.limits.max_header_byte",
             "upstreams.svc.targets[0].weight", "routes[0].upstream", "routes[1].timeout"}


def test_post_config_applies_yaml_and_json(gateway, upstream):
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    api = gw.admin(TOKEN)
    assert gw.request("GET", "/new").status == 404

    yaml_body = gw.config_text(gw.port, BASE + """
  - {name: new, path: "/new", upstream: "builtin:echo"}
""")
    resp = api.post("/config", yaml_body)
    assert resp.status == 200, resp
    assert resp.json() == {"generation": 2}
    new = gw.request("GET", "/new")
    assert new.status == 200 and new.json()["route"] == "new", new
    assert api.get_json("/config")["generation"] == 2

    json_body = json.dumps({
        "admin": {"address": f"127.0.0.1:{gw.admin_port}", "token": TOKEN},
        "server": {"listeners": [{"name": "public", "address": f"127.0.0.1:{gw.port}"}]},
        "routes": [{"name": "only", "paths": ["/only/**"], "upstream": up.url}],
    })
    resp = api.post("/config", json_body, content_type="application/json")
    assert resp.status == 200, resp
    assert resp.json() == {"generation": 3}
    assert gw.request("GET", "/only/x").status == 200
    assert gw.request("GET", "/new").status == 404
    assert gw.request("GET", "/items/a").status == 404
    m = api.metrics()
    assert m.value("turnpike_config_generation") == 3
    assert m.value("turnpike_config_reloads_total", result="success") == 2


def test_post_bad_config_lists_every_error_and_changes_nothing(gateway, upstream):
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    api = gw.admin(TOKEN)
    before = api.get_json("/config")

    resp = api.post("/config", gw.config_text(gw.port, BAD))
    doc = api_error(resp, 400)
    assert set(doc) == {"errors"}, doc
    for e in doc["errors"]:
        assert set(e) == {"path", "message"}, e
        assert isinstance(e["message"], str) and e["message"].strip(), e
    paths = {e["path"] for e in doc["errors"]}
    assert paths == BAD_PATHS, f"errors: {dumps(doc['errors'])}"
    by_path = {e["path"]: e["message"] for e in doc["errors"]}
    assert "nope" in by_path["routes[0].upstream"], by_path

    after = api.get_json("/config")
    assert (after["generation"], after["hash"]) == (before["generation"], before["hash"])
    assert gw.request("GET", "/items/1").status == 200
    assert gw.request("GET", "/other").status == 404
    m = api.metrics()
    assert m.value("turnpike_config_reloads_total", result="failure") == 1
    assert m.value("turnpike_config_reloads_total", result="success") == 0
    assert m.value("turnpike_config_generation") == before["generation"]


@pytest.mark.parametrize("body,path_hint", [
    pytest.param("routes: [ {path: /x", None, id="yaml-syntax"),
    pytest.param("{\"routes\": [", None, id="json-syntax"),
    pytest.param("- just\n- a list\n", None, id="not-a-map"),
    pytest.param("routez: []\n", "routez", id="unknown-top-key"),
])
def test_post_unparseable_config_is_400(env, body, path_hint):
    gw, _ = env
    api = gw.admin(TOKEN)
    before = api.get_json("/config")
    doc = api_error(api.post("/config", body), 400)
    assert doc["errors"], doc
    for e in doc["errors"]:
        assert set(e) == {"path", "message"} and e["message"], e
    if path_hint:
        assert any(path_hint in e["path"] for e in doc["errors"]), doc
    after = api.get_json("/config")
    assert (after["generation"], after["hash"]) == (before["generation"], before["hash"])
    assert gw.request("GET", "/items/1").status == 200


def test_validate_is_a_dry_run(gateway, upstream):
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    api = gw.admin(TOKEN)
    before = api.get_json("/config")

    good = gw.config_text(gw.port, BASE + """
  - {name: dry, path: "/dry", upstream: "builtin:echo"}
""")
    resp = api.post("/config/validate", good)
    assert resp.status == 200, resp
    assert resp.json() == {"valid": True, "errors": []}

    resp = api.post("/config/validate", gw.config_text(gw.port, BAD))
    doc = api_error(resp, 400)
    assert {e["path"] for e in doc["errors"]} == BAD_PATHS, dumps(doc)
    assert doc.get("valid", False) is False, doc

    after = api.get_json("/config")
    assert (after["generation"], after["hash"]) == (before["generation"], before["hash"])
    assert gw.request("GET", "/dry").status == 404, "a dry run was applied"
    m = api.metrics()
    assert m.value("turnpike_config_reloads_total", result="success") == 0
    assert m.value("turnpike_config_reloads_total", result="failure") == 0, \
        "a dry run counted as a reload"


def big_config(gw, routes: int) -> str:
    return gw.config_text(gw.port, BASE) + "".join(
        f'  - {{name: bulk-{i}, paths: ["/bulk/{i}/**"], upstream: "builtin:echo"}}\n'
        for i in range(routes))


@pytest.mark.parametrize("endpoint", ["/config/validate", "/config"])
def test_post_a_large_config(gateway, upstream, endpoint):
    """2,000 routes (~150 KB of YAML): more than one read's worth of body."""
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    api = gw.admin(TOKEN)
    text = big_config(gw, 2000)
    assert len(text) > 100_000
    resp = api.post(endpoint, text, timeout=10)
    assert resp.status == 200, f"POST {endpoint} with {len(text)} bytes: {resp!r}"
    if endpoint == "/config":
        assert gw.request("GET", "/bulk/1999/x").json()["route"] == "bulk-1999"


def test_post_config_whose_body_arrives_after_the_head(gateway, upstream):
    """A client may send the head first and the body a moment later (as clients waiting for
    `100 Continue` do): the request is the same."""
    from support.client import Conn, build_request
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    body = gw.config_text(gw.port, BASE + """
  - {name: late, path: "/late", upstream: "builtin:echo"}
""").encode()
    with Conn(gw.admin_port) as c:
        c.send(build_request("POST", "/config", headers=[
            ("Authorization", f"Bearer {TOKEN}"), ("Content-Type", "application/yaml"),
            ("Content-Length", str(len(body)))], host=f"127.0.0.1:{gw.admin_port}"))
        time.sleep(0.2)
        c.send(body)
        resp = c.read_response()
    assert resp.status == 200, resp
    assert gw.request("GET", "/late").status == 200


def test_new_token_takes_effect_with_the_config(gateway):
    gw = gateway("""
        admin: {address: "$admin", token: "$token"}
        routes:
          - {path: "/**", upstream: "builtin:echo"}
    """, token="old-token")
    api = gw.admin("old-token")
    resp = api.post("/config", gw.config_text(gw.port, token="new-token"))
    assert resp.status == 200, resp
    assert api.get("/config").status == 401
    assert gw.admin("new-token").get("/config").status == 200


# -- GET /routes, /upstreams, /health/metrics --------------------------------------------------

def test_routes_lists_the_running_routes(env):
    gw, up = env
    doc = gw.admin(TOKEN).get_json("/routes")
    routes = doc["routes"] if isinstance(doc, dict) else doc
    assert [r["name"] for r in routes] == ["items", "echo"], dumps(doc)
    items = routes[0]
    assert items["paths"] == ["/items/**"] and items["upstream"] == "svc", dumps(items)


def test_upstreams_show_active_and_idle_connections(gateway, upstream):
    release = threading.Event()

    def held(req, ctx):
        release.wait(10)
        return respond(200, b"held")(req, ctx)

    up = upstream(by_path({"/items/hold": held}, default=respond(200, b"quick")))
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY, workers=1)
    api = gw.admin(TOKEN)

    def targets():
        doc = api.get_json("/upstreams")
        ups = {u["name"]: u for u in doc["upstreams"]}
        return ups["svc"]["targets"]

    [t] = targets()
    assert t["address"] == up.address and t["weight"] == 2, dumps(t)
    assert (t["healthy"], t["circuit"]) == (True, "closed"), dumps(t)
    assert (t["active_connections"], t["idle_connections"]) == (0, 0), dumps(t)

    # Four requests held at the upstream at once: four active upstream connections.
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        gw.request("GET", "/items/hold", timeout=10).status)) for _ in range(4)]
    for th in threads:
        th.start()
    try:
        up.wait_requests(4)
        wait_until(lambda: targets()[0]["active_connections"] == 4, timeout=3,
                   what="4 active upstream connections in /upstreams")
    finally:
        release.set()
        for th in threads:
            th.join(timeout=10)
    assert results == [200] * 4
    # Done: the four connections are pooled, idle.
    wait_until(lambda: (targets()[0]["active_connections"],
                        targets()[0]["idle_connections"]) == (0, 4),
               timeout=3, what=f"(active, idle) == (0, 4); last {targets()}")
    # Sequential traffic reuses them: still four idle, no new connection.
    for i in range(10):
        assert gw.request("GET", f"/items/{i}").status == 200
    t = targets()[0]
    assert (t["active_connections"], t["idle_connections"]) == (0, 4), dumps(t)
    assert up.accepted == 4
    m = api.metrics()
    assert m.value("turnpike_upstream_connections", upstream="svc", state="idle") == 4
    assert m.value("turnpike_upstream_connections", upstream="svc", state="active") == 0


def test_health_metrics_summarizes_traffic(env):
    gw, _ = env
    api = gw.admin(TOKEN)
    before = api.get_json("/health/metrics")
    before_items = {r["route"]: r for r in before["routes"]}["items"]
    for i in range(3):
        assert gw.request("GET", f"/items/{i}").status == 200
    assert gw.request("GET", "/missing").status == 404
    doc = api.get_json("/health/metrics")
    for key in ("uptime_seconds", "generation", "requests", "active_connections", "routes",
                "unmatched", "upstreams"):
        assert key in doc, f"/health/metrics has no {key}: {dumps(doc)}"
    assert doc["uptime_seconds"] > 0
    assert doc["generation"] == api.generation()
    assert doc["requests"] == before["requests"] + 4
    items = {r["route"]: r for r in doc["routes"]}["items"]
    assert items["requests"] == before_items["requests"] + 3
    assert items["statuses"].get("200", 0) == before_items["statuses"].get("200", 0) + 3
    lat = items["latency_ms"]
    assert set(lat) >= {"p50", "p90", "p99"} and 0 < lat["p50"] <= lat["p90"] <= lat["p99"], lat
    assert doc["unmatched"]["statuses"].get("404", 0) >= 1, dumps(doc["unmatched"])
    svc = {u.get("upstream", u.get("name")): u for u in doc["upstreams"]}["svc"]
    assert svc["targets"][0]["healthy"] is True, dumps(svc)


# -- GET /routes/explain -----------------------------------------------------------------------

EXPLAIN = """
admin: {address: "$admin", token: "$token"}
routes:
  - {name: catch-all, paths: ["/**"], upstream: "builtin:echo"}
  - {name: users-any-host, paths: ["/api/users/**"], upstream: "builtin:echo"}
  - {name: users-wild, hosts: ["*.example.com"], paths: ["/api/users/**"], upstream: "builtin:echo"}
  - {name: users-exact, hosts: [api.example.com], paths: ["/api/users/**"], upstream: "builtin:echo"}
  - {name: user-by-id, hosts: [api.example.com], paths: ["/api/users/{id}"], upstream: "builtin:echo"}
  - {name: user-v2, hosts: [api.example.com], paths: ["/api/users/{id}"], headers: {X-Version: "2"}, upstream: "builtin:echo"}
  - {name: orders-post, methods: [POST, PUT], paths: ["/orders"], hosts: [shop.test], upstream: "builtin:echo"}
"""
EXPLAIN_ROUTES = {"catch-all", "users-any-host", "users-wild", "users-exact", "user-by-id",
                  "user-v2", "orders-post"}


@pytest.fixture(scope="module")
def explain_gw(module_stack):
    return module_stack.gateway(EXPLAIN, token=TOKEN)


def explain(gw, **query):
    from urllib.parse import urlencode
    return gw.admin(TOKEN).get_json("/routes/explain?" + urlencode(query))


def served_by(gw, method, host, path, headers=()):
    resp = gw.request(method, path, host=host, headers=headers)
    return resp.json()["route"] if resp.status == 200 else resp.status


@pytest.mark.parametrize("method,host,path,headers,winner", [
    ("GET", "api.example.com", "/api/users/42", {}, "user-by-id"),
    ("GET", "api.example.com", "/api/users/42", {"X-Version": "2"}, "user-v2"),
    ("GET", "api.example.com", "/api/users/42/orders", {}, "users-exact"),
    ("GET", "eu.example.com", "/api/users/42", {}, "users-wild"),
    ("GET", "other.test", "/api/users/42", {}, "users-any-host"),
    ("GET", "other.test", "/elsewhere", {}, "catch-all"),
    ("POST", "shop.test", "/orders", {}, "orders-post"),
])
def test_explain_names_the_winner_and_why_the_others_lost(explain_gw, method, host, path,
                                                          headers, winner):
    gw = explain_gw
    query = {"method": method, "host": host, "path": path}
    query.update({f"header.{k}": v for k, v in headers.items()})
    doc = explain(gw, **query)
    assert doc["route"] == winner, dumps(doc)
    assert doc["status"] == 200, dumps(doc)
    assert isinstance(doc["plugins"], list), dumps(doc)
    # The route explain names is the one that really serves the request.
    assert served_by(gw, method, host, path, list(headers.items())) == winner
    # Every other route is a candidate that lost, with a reason.
    reasons = {}
    for c in doc["candidates"]:
        assert set(c) >= {"route", "reason"}, c
        assert isinstance(c["reason"], str) and c["reason"].strip(), c
        reasons.setdefault(c["route"], c["reason"])
    losers = EXPLAIN_ROUTES - {winner}
    assert losers <= set(reasons), f"no reason given for {losers - set(reasons)}: {dumps(doc)}"


def test_explain_reasons_say_what_differs(explain_gw):
    doc = explain(explain_gw, method="GET", host="api.example.com", path="/api/users/42")
    reasons = {c["route"]: c["reason"].lower() for c in doc["candidates"]}
    assert "header" in reasons["user-v2"], reasons          # X-Version missing
    assert "host" in reasons["orders-post"] or "path" in reasons["orders-post"], reasons
    # Lost on precedence, not on a condition: the reason must not claim a mismatch.
    for name in ("users-exact", "users-wild", "users-any-host", "catch-all"):
        assert reasons[name] and "does not match" not in reasons[name], (name, reasons)


def test_explain_404_and_405(explain_gw):
    # Without the catch-all route some requests match nothing (404) or all but the method (405).
    gw = explain_gw
    api = gw.admin(TOKEN)
    text = gw.config_text(gw.port, EXPLAIN.replace(
        '  - {name: catch-all, paths: ["/**"], upstream: "builtin:echo"}\n', ""))
    assert api.post("/config", text).status == 200
    try:
        nf = explain(gw, method="GET", host="nowhere.test", path="/nothing/here")
        assert nf["status"] == 404 and nf["route"] is None, dumps(nf)
        assert {c["route"] for c in nf["candidates"]} >= EXPLAIN_ROUTES - {"catch-all"}, dumps(nf)
        assert gw.request("GET", "/nothing/here", host="nowhere.test").status == 404

        na = explain(gw, method="GET", host="shop.test", path="/orders")
        assert na["status"] == 405 and na["route"] is None, dumps(na)
        reasons = {c["route"]: c["reason"].lower() for c in na["candidates"]}
        assert "method" in reasons["orders-post"], reasons
        resp = gw.request("GET", "/orders", host="shop.test")
        assert resp.status == 405
        allow = {m.strip() for m in (resp.header("Allow") or "").split(",")}
        assert allow == {"POST", "PUT"}, resp
        if "allow" in na:  # not in the SPEC; when given, it must agree with the Allow header
            given = na["allow"]
            given = given.split(",") if isinstance(given, str) else given
            assert {m.strip() for m in given} == allow, dumps(na)
    finally:
        assert api.post("/config", gw.config_text(gw.port)).status == 200


def test_explain_bad_path_is_400(explain_gw):
    resp = explain_gw.admin(TOKEN).get("/routes/explain?method=GET&host=a&path=/../x")
    assert resp.status == 400, resp


# -- a config that loads but cannot be put in place --------------------------------------------

UNOPENABLE_LOG = BASE + """
logging:
  access_log: {path: "/nonexistent-e2e-dir/sub/access.log"}
"""


def test_post_config_that_cannot_be_applied_names_the_path_and_why(gateway, upstream):
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    api = gw.admin(TOKEN)
    before = api.get_json("/config")
    doc = api_error(api.post("/config", gw.config_text(gw.port, UNOPENABLE_LOG)), 400)
    assert api.get_json("/config")["generation"] == before["generation"]
    assert gw.request("GET", "/items/1").status == 200
    paths = {e["path"]: e["message"] for e in doc["errors"]}
    assert "logging.access_log.path" in paths, (
        f"the error does not name logging.access_log.path: {dumps(doc)}")
    assert "nonexistent-e2e-dir" in paths["logging.access_log.path"], dumps(doc)


def test_validate_agrees_with_apply(gateway, upstream):
    up = upstream(echo)
    gw = gateway(BASE, up=up.address, token=TOKEN, key=CONSUMER_KEY)
    api = gw.admin(TOKEN)
    body = gw.config_text(gw.port, UNOPENABLE_LOG)
    dry = api.post("/config/validate", body)
    real = api.post("/config", body)
    assert real.status == 400, real
    assert dry.status == real.status, (
        f"POST /config/validate said {dry.status} {dry.body!r} but POST /config said "
        f"{real.status} {real.body!r} for the same body")
