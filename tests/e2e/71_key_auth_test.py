"""Consumers, key_auth and acl (SPEC §2, §3): a key in a header or the query names its consumer,
who reaches the upstream and appears in the access log line and on the span; a missing or
unknown key is 401, a consumer outside the allowed groups (or in a denied one) 403, each with the
SPEC §5 body and nothing forwarded. Consumer keys are secrets in GET /config, and a reload that
changes the consumers is seen by the plugins it does not rebuild."""
import uuid

import pytest

from support.client import assert_error
from support.gateway import run_cli
from support.upstream import echo

MOBILE_KEY = "mobile-" + uuid.uuid4().hex
FREE_KEY = "free-key-1"
BANNED_KEY = "banned-key-1"

CONFIG = """
admin: {address: "$admin"}
consumers:
  - {name: mobile-app, keys: ["$mobile_key"], groups: [premium]}
  - {name: free-app, keys: [$free_key], groups: [free]}
  - {name: banned-app, keys: [$banned_key], groups: [premium, banned]}
  - {name: nobody}
routes:
  - name: keyed
    paths: ["/keyed/**"]
    upstream: "$up"
    plugins:
      key_auth: {}
  - name: premium
    paths: ["/premium/**"]
    upstream: "$up"
    plugins:
      key_auth: {sources: [header:X-Key, query:key]}
      acl: {allow_groups: [premium], deny_groups: [banned]}
  - name: acl-only
    paths: ["/acl-only/**"]
    upstream: "$up"
    plugins:
      acl: {deny_groups: [banned]}
  - {name: open, paths: ["/open/**"], upstream: "$up"}
"""


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(CONFIG, up=up.url, mobile_key=MOBILE_KEY, free_key=FREE_KEY,
                              banned_key=BANNED_KEY)
    return gw, up


def logged(gw, resp) -> dict:
    rid = resp.header("X-Request-Id")
    return gw.wait_access_log([rid])[rid]


def test_key_in_the_header_names_the_consumer(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/keyed/a", headers=[("X-API-Key", MOBILE_KEY)])
    assert resp.status == 200, resp
    # SPEC asks for no stripping: the upstream gets the key as it was sent.
    assert up.last().header("X-API-Key") == MOBILE_KEY
    line = logged(gw, resp)
    assert line["consumer"] == "mobile-app", line
    assert line["status"] == 200 and line["error"] is None, line


def test_key_in_the_query_names_the_consumer(fresh):
    gw, up = fresh
    resp = gw.request("GET", f"/keyed/b?page=2&apikey={FREE_KEY}")
    assert resp.status == 200, resp
    assert up.last().target == f"/keyed/b?page=2&apikey={FREE_KEY}"
    assert logged(gw, resp)["consumer"] == "free-app"


def test_missing_key_is_401(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/keyed/c?apikey=")
    doc = assert_error(resp, 401, "unauthorized")
    assert doc["message"] == "missing API key", doc
    assert resp.header("WWW-Authenticate") == 'Key realm="turnpike"'
    up.assert_nothing_received()
    line = logged(gw, resp)
    assert (line["status"], line["consumer"], line["error"]) == (401, None, "unauthorized"), line


@pytest.mark.parametrize("headers,query", [
    ([("X-API-Key", "not-a-key")], ""),
    ([], "?apikey=not-a-key"),
    ([("X-API-Key", MOBILE_KEY[:-1])], ""),   # a prefix of a real key
    ([("X-API-Key", "nobody")], ""),          # a consumer's name is not a key
], ids=["header", "query", "prefix", "name"])
def test_invalid_key_is_401(fresh, headers, query):
    gw, up = fresh
    resp = gw.request("GET", "/keyed/d" + query, headers=headers)
    doc = assert_error(resp, 401, "unauthorized")
    assert doc["message"] == "invalid API key", doc
    assert resp.header("WWW-Authenticate") == 'Key realm="turnpike"'
    up.assert_nothing_received()
    assert logged(gw, resp)["consumer"] is None


def test_acl_lets_an_allowed_group_through(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/premium/x", headers=[("X-Key", MOBILE_KEY)])
    assert resp.status == 200, resp
    assert logged(gw, resp)["consumer"] == "mobile-app"
    resp = gw.request("GET", f"/premium/y?key={MOBILE_KEY}")
    assert resp.status == 200, resp
    # The route's own sources replace the default ones.
    assert_error(gw.request("GET", "/premium/z", headers=[("X-API-Key", MOBILE_KEY)]),
                 401, "unauthorized")


@pytest.mark.parametrize("key,why", [(FREE_KEY, "not in allow_groups"),
                                     (BANNED_KEY, "in deny_groups")])
def test_acl_refuses_other_and_denied_groups(fresh, key, why):
    gw, up = fresh
    resp = gw.request("GET", "/premium/x", headers=[("X-Key", key)])
    doc = assert_error(resp, 403, "forbidden")
    assert doc["message"] == "consumer not allowed", (why, doc)
    assert resp.header("WWW-Authenticate") is None
    up.assert_nothing_received()
    line = logged(gw, resp)
    # The consumer was named before acl refused it: the log line says who was refused.
    assert (line["status"], line["error"]) == (403, "forbidden"), line
    assert line["consumer"] in ("free-app", "banned-app"), line


def test_authentication_comes_before_acl(fresh):
    gw, up = fresh
    assert_error(gw.request("GET", "/premium/x"), 401, "unauthorized")
    assert_error(gw.request("GET", "/premium/x", headers=[("X-Key", "bad")]), 401, "unauthorized")
    up.assert_nothing_received()


def test_acl_without_authentication_refuses_everyone(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/acl-only/x", headers=[("X-API-Key", MOBILE_KEY)])
    doc = assert_error(resp, 403, "forbidden")
    assert doc["message"] == "no authenticated consumer", doc
    up.assert_nothing_received()


def test_routes_without_plugins_log_no_consumer(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/open/x", headers=[("X-API-Key", MOBILE_KEY)])
    assert resp.status == 200, resp
    assert logged(gw, resp)["consumer"] is None


def test_consumer_keys_are_secrets_in_the_admin_api(env):
    gw, _ = env
    resp = gw.admin().get("/config")
    assert resp.status == 200, resp
    text = resp.body.decode()
    for key in (MOBILE_KEY, FREE_KEY, BANNED_KEY):
        assert key not in text, f"a consumer key leaked: {text}"
    config = resp.json()["config"]
    assert [c["keys"] for c in config["consumers"]] == [["***"], ["***"], ["***"], []], config
    routes = {r["name"]: r for r in config["routes"]}
    assert routes["premium"]["plugins"]["key_auth"] == {"sources": ["header:X-Key", "query:key"]}
    assert routes["premium"]["plugins"]["acl"] == {"allow_groups": ["premium"],
                                                   "deny_groups": ["banned"]}


def test_reload_changes_consumers_under_an_unchanged_plugin(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(CONFIG, up=up.url, mobile_key=MOBILE_KEY, free_key=FREE_KEY,
                              banned_key=BANNED_KEY)
    api = gw.admin()
    assert gw.request("GET", "/premium/x", headers=[("X-Key", FREE_KEY)]).status == 403
    generation = api.generation()
    # free-app joins premium, mobile-app's key changes; the plugins' own blocks do not.
    gw.write_config(template=CONFIG.replace("groups: [free]", "groups: [free, premium]"),
                    mobile_key="rotated-" + MOBILE_KEY)
    api.wait_generation(generation + 1, timeout=5.0)
    assert gw.request("GET", "/premium/x", headers=[("X-Key", FREE_KEY)]).status == 200
    assert_error(gw.request("GET", "/keyed/x", headers=[("X-API-Key", MOBILE_KEY)]),
                 401, "unauthorized")
    resp = gw.request("GET", "/keyed/x", headers=[("X-API-Key", "rotated-" + MOBILE_KEY)])
    assert resp.status == 200, resp
    assert logged(gw, resp)["consumer"] == "mobile-app"


def test_explain_lists_authentication_before_acl(env):
    gw, _ = env
    doc = gw.admin().get_json("/routes/explain?method=GET&host=a&path=/premium/x")
    assert doc["plugins"] == ["key_auth", "acl"], doc


def test_validate_names_the_path_of_each_error(tmp_path):
    path = tmp_path / "gw.yaml"
    path.write_text("""
server:
  listeners: [{name: public, address: "127.0.0.1:1"}]
consumers:
  - {name: a, keys: [k1]}
  - {name: b, keys: [k1]}
routes:
  - name: r
    path: /x
    upstream: builtin:echo
    plugins:
      key_auth: {sources: [cookie:key]}
      acl: {}
""")
    result = run_cli("validate", "--config", str(path))
    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [
        "consumers[1].keys[0]: key already used by consumers[0].keys[0]",
        'routes[0].plugins.key_auth.sources[0]: invalid source "cookie:key" '
        "(allowed: header:NAME, query:NAME)",
        "routes[0].plugins.acl: allow_groups or deny_groups is required",
    ], result.stderr


OTLP = """
tracing:
  otlp: {endpoint: "$otlp", sample_ratio: 1.0, service_name: e2e-gateway}
consumers:
  - {name: mobile-app, keys: ["$mobile_key"], groups: [premium]}
routes:
  - {name: api, paths: ["/api/**"], upstream: "$up", plugins: {key_auth: {}}}
"""


def test_consumer_is_an_attribute_of_the_span(gateway, upstream, otlp):
    rx = otlp()
    up = upstream(echo)
    gw = gateway(OTLP, otlp=rx.endpoint, up=up.url, mobile_key=MOBILE_KEY)
    trace = uuid.uuid4().hex
    ok = gw.request("GET", "/api/x", headers=[("X-API-Key", MOBILE_KEY),
                                              ("traceparent", f"00-{trace}-{'1' * 16}-01")])
    assert ok.status == 200, ok
    anonymous = uuid.uuid4().hex
    refused = gw.request("GET", "/api/x", headers=[("traceparent", f"00-{anonymous}-{'2' * 16}-01")])
    assert refused.status == 401, refused
    spans = rx.wait_spans(lambda s: s.get("traceId") == trace, count=2)
    for s in spans:
        assert s["attrs"].get("turnpike.consumer") == "mobile-app", s
    [server] = rx.wait_spans(lambda s: s.get("traceId") == anonymous, count=1)
    assert "turnpike.consumer" not in server["attrs"], server
