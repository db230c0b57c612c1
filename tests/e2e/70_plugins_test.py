"""The first plugins through the request pipeline (SPEC §3): ip_restriction, cors, request_size
and headers, each on a real gateway in front of a recording upstream. What the upstream received
and what the client got are both checked: a refusal never reaches the upstream, a preflight is
answered by the gateway, edits land on both sides, and CORS headers are on every response."""

import pytest

from support.client import assert_error, chunked, refused_port
from support.gateway import validate_plugin
from support.upstream import echo, response_head

CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
  trusted_proxies: [127.0.0.1/32]
routes:
  - name: deny
    paths: ["/deny/**"]
    upstream: "$up"
    plugins:
      ip_restriction: {deny: [10.0.0.0/8, "2001:db8:bad::/48"]}
  - name: allow
    paths: ["/allow/**"]
    upstream: "$up"
    plugins:
      ip_restriction: {allow: [192.0.2.0/24, "2001:db8::/32"]}
  - name: cors
    paths: ["/cors/**"]
    upstream: "$up"
    plugins:
      ip_restriction: {deny: [10.0.0.0/8]}
      cors:
        origins: [https://app.example.com]
        methods: [GET, POST]
        expose_headers: [X-Total]
        credentials: true
        max_age: 10m
  - name: cors-broken
    paths: ["/cors-broken/**"]
    upstream: "http://127.0.0.1:$dead"
    plugins:
      cors: {origins: ["*"]}
  - name: size
    paths: ["/size/**"]
    upstream: "$up"
    plugins:
      request_size: {max_body_bytes: 10}
  - name: headers
    paths: ["/headers/**"]
    upstream: "$up"
    plugins:
      headers:
        request: {set: {X-Env: prod}, add: {X-Tag: gw}, remove: [X-Secret]}
        response: {set: {X-Served-By: turnpike}, add: {X-Extra: "1"}, remove: [X-Internal]}
  - name: headers-broken
    paths: ["/headers-broken/**"]
    upstream: "http://127.0.0.1:$dead"
    plugins:
      headers: {response: {set: {X-Served-By: turnpike}}}
"""


def upstream_handler(req, ctx):
    if req.path.startswith("/headers/"):
        body = b"ok"
        ctx.send(response_head(200, [("Content-Length", "2"), ("X-Internal", "secret"),
                                     ("X-Served-By", "origin")]) + body)
        return True
    return echo(req, ctx)



@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(upstream_handler)
    gw = module_stack.gateway(CONFIG, up=up.url, dead=refused_port())
    return gw, up


# -- ip_restriction --------------------------------------------------------------------------

@pytest.mark.parametrize("client,status", [
    ("10.1.2.3", 403), ("10.255.0.1", 403), ("192.0.2.7", 200), (None, 200),
    ("2001:db8:bad::1", 403), ("2001:db8:b00::1", 200),
])
def test_ip_restriction_deny(fresh, client, status):
    gw, up = fresh
    headers = [("X-Forwarded-For", client)] if client else []
    resp = gw.request("GET", "/deny/x", headers=headers)
    if status == 403:
        assert_error(resp, 403, "forbidden")
        up.assert_nothing_received()
    else:
        assert resp.status == 200, resp


@pytest.mark.parametrize("client,status", [
    ("192.0.2.1", 200), ("2001:db8::5", 200), (None, 403), ("198.51.100.1", 403),
    ("not-an-ip", 403),
])
def test_ip_restriction_allow(fresh, client, status):
    gw, up = fresh
    headers = [("X-Forwarded-For", client)] if client else []
    resp = gw.request("GET", "/allow/x", headers=headers)
    if status == 403:
        assert_error(resp, 403, "forbidden")
        up.assert_nothing_received()
    else:
        assert resp.status == 200, resp


def test_ip_restriction_believes_only_trusted_proxies(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway("""
        server:
          listeners: [{name: public, address: "$listen"}]
        routes:
          - {name: r, paths: ["/**"], upstream: "$up", plugins: {ip_restriction: {deny: [127.0.0.0/8]}}}
    """, up=up.url)
    # 127.0.0.1 is not a trusted proxy here: its X-Forwarded-For is not believed.
    resp = gw.request("GET", "/x", headers=[("X-Forwarded-For", "192.0.2.1")])
    assert_error(resp, 403, "forbidden")


# -- cors ------------------------------------------------------------------------------------

ORIGIN = "https://app.example.com"


def test_cors_preflight_is_answered_by_the_gateway(fresh):
    gw, up = fresh
    resp = gw.request("OPTIONS", "/cors/items", headers=[
        ("Origin", ORIGIN), ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "X-Custom, Content-Type")])
    assert resp.status == 204, resp
    assert resp.body == b""
    assert resp.header("Access-Control-Allow-Origin") == ORIGIN
    assert resp.header("Access-Control-Allow-Credentials") == "true"
    assert resp.header("Access-Control-Max-Age") == "600"
    assert "POST" in resp.header("Access-Control-Allow-Methods")
    assert "X-Custom" in resp.header("Access-Control-Allow-Headers")
    assert resp.header("X-Request-Id")
    up.assert_nothing_received()


def test_cors_preflight_keeps_the_connection(fresh):
    gw, up = fresh
    with gw.conn() as c:
        pre = c.request("OPTIONS", "/cors/a", headers=[
            ("Origin", ORIGIN), ("Access-Control-Request-Method", "GET")])
        assert pre.status == 204
        assert pre.header("Content-Length") is None
        after = c.request("GET", "/cors/b", headers=[("Origin", ORIGIN)])
        assert after.status == 200


def test_cors_headers_on_an_actual_request(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/cors/items", headers=[("Origin", ORIGIN)])
    assert resp.status == 200
    assert resp.header("Access-Control-Allow-Origin") == ORIGIN
    assert resp.header("Access-Control-Expose-Headers") == "X-Total"
    assert "Origin" in (resp.header("Vary") or "")
    assert up.last().header("Origin") == ORIGIN  # the request itself is forwarded


def test_cors_disallowed_origin_gets_no_cors_headers(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/cors/items", headers=[("Origin", "https://evil.example")])
    assert resp.status == 200
    assert resp.header("Access-Control-Allow-Origin") is None


def test_cors_headers_on_gateway_refusals_and_errors(fresh):
    gw, up = fresh
    refused = gw.request("GET", "/cors/items", headers=[("Origin", ORIGIN),
                                                        ("X-Forwarded-For", "10.0.0.1")])
    assert_error(refused, 403, "forbidden")
    assert refused.header("Access-Control-Allow-Origin") == ORIGIN
    broken = gw.request("GET", "/cors-broken/x", headers=[("Origin", "https://any.example")])
    assert_error(broken, 502, "bad_gateway")
    assert broken.header("Access-Control-Allow-Origin") == "*"


def test_request_without_origin_is_not_cors(fresh):
    gw, up = fresh
    resp = gw.request("OPTIONS", "/cors/items")
    assert resp.status == 200  # forwarded: not a preflight
    assert resp.header("Access-Control-Allow-Origin") is None
    assert up.last().method == "OPTIONS"


# -- request_size ----------------------------------------------------------------------------

@pytest.mark.parametrize("size,status", [(0, 200), (10, 200), (11, 413), (4096, 413)])
def test_request_size_content_length(fresh, size, status):
    gw, up = fresh
    resp = gw.request("POST", "/size/x", body=b"b" * size)
    if status == 413:
        assert_error(resp, 413, "payload_too_large")
        up.assert_nothing_received()
    else:
        assert resp.status == 200, resp
        assert up.last().body_len == size


@pytest.mark.parametrize("pieces,status", [((b"12345", b"67890"), 200),
                                           ((b"12345", b"678901"), 413)])
def test_request_size_chunked(fresh, pieces, status):
    gw, up = fresh
    with gw.conn() as c:
        c.send(b"POST /size/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               + chunked(*pieces))
        resp = c.read_response()
    if status == 413:
        assert_error(resp, 413, "payload_too_large")
    else:
        assert resp.status == 200, resp
        assert up.last().body == b"".join(pieces)


def test_request_size_is_per_route(fresh):
    gw, up = fresh
    resp = gw.request("POST", "/headers/x", body=b"b" * 4096)
    assert resp.status == 200


# -- headers ---------------------------------------------------------------------------------

def test_headers_request_edits_reach_the_upstream(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/headers/x", headers=[
        ("X-Env", "dev"), ("X-Tag", "client"), ("X-Secret", "s3cret"), ("Accept", "*/*")])
    assert resp.status == 200
    req = up.last()
    assert req.header_all("X-Env") == ["prod"]
    assert req.header_all("X-Tag") == ["client", "gw"]
    assert req.header("X-Secret") is None
    assert req.header("Accept") == "*/*"


def test_headers_response_edits_reach_the_client(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/headers/x")
    assert resp.status == 200
    assert resp.header_all("X-Served-By") == ["turnpike"]
    assert resp.header("X-Extra") == "1"
    assert resp.header("X-Internal") is None
    assert resp.body == b"ok"


def test_headers_response_edits_on_gateway_errors(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/headers-broken/x")
    assert_error(resp, 502, "bad_gateway")
    assert resp.header("X-Served-By") == "turnpike"


@pytest.mark.parametrize("block,message", [
    ("{request: {set: {Content-Length: '5'}}}", 'cannot edit "Content-Length"'),
    ("{request: {set: {Host: evil}}}", 'cannot edit "Host"'),
    ("{response: {remove: [Transfer-Encoding]}}", 'cannot edit "Transfer-Encoding"'),
    ("{request: {set: {X-Forwarded-For: 1.2.3.4}}}", 'cannot edit "X-Forwarded-For"'),
    ('{request: {set: {X-A: "a\\r\\nX-Injected: 1"}}}', "control characters"),
    ("{request: {set: {'Bad Name': x}}}", 'invalid header name "Bad Name"'),
])
def test_headers_config_refuses_protected_names_and_injection(tmp_path, block, message):
    result = validate_plugin(tmp_path, "headers", block)
    assert result.returncode == 1, result
    assert "routes[0].plugins.headers" in result.stderr, result.stderr
    assert message in result.stderr, result.stderr


def test_explain_lists_the_chain_in_order(module_stack):
    gw = module_stack.gateway("""
        server:
          listeners: [{name: public, address: "$listen"}]
        admin: {address: "$admin"}
        plugins:
          headers: {response: {set: {X-G: "1"}}}
        routes:
          - name: r
            paths: ["/**"]
            upstream: builtin:echo
            plugins:
              request_size: {max_body_bytes: 1KiB}
              cors: {origins: ["*"]}
              ip_restriction: {deny: [10.0.0.0/8]}
    """)
    doc = gw.admin().get_json("/routes/explain?method=GET&host=a&path=/x")
    assert doc["plugins"] == ["ip_restriction", "cors", "request_size", "headers"]
