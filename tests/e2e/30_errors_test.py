"""The gateway's own answers (SPEC §5): status, `application/json` body
{"error", "message", "request_id"} and an X-Request-Id equal to the body's request_id."""
import time

import pytest

from support.client import assert_error, chunked
from support.gateway import free_port
from support.upstream import echo, garbage, hang_up, reset, respond

PROXY = """
server:
  listeners: [{name: public, address: "$listen"}]
  limits: {max_body_bytes: 1KiB, max_header_bytes: 1KiB, header_timeout: 500ms}
routes:
  - {name: all, paths: ["/**"], upstream: "$up"}
"""


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(PROXY, up=up.url)
    return gw, up


# -- 400 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    pytest.param(b"GARBAGE\r\n\r\n", id="no-target-no-version"),
    pytest.param(b"GET / HTTP/1.1 extra\r\nHost: t\r\n\r\n", id="extra-word"),
    pytest.param(b"GET /\r\nHost: t\r\n\r\n", id="no-version"),
    pytest.param(b"G@T / HTTP/1.1\r\nHost: t\r\n\r\n", id="bad-method-token"),
    pytest.param(b"GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", id="space-in-target"),
    pytest.param(b"GET / HTTP/1.1\r\n\r\n", id="http11-without-host"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", id="two-hosts"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: t\r\nNo-Colon-Here\r\n\r\n", id="header-without-colon"),
])
def test_malformed_request_is_400(fresh, raw):
    gw, up = fresh
    with gw.conn() as c:
        c.send(raw)
        resp = c.read_response()
        assert_error(resp, 400, "bad_request")
        assert c.wait_closed(timeout=2), "connection left open after a malformed request"
    assert up.accepted == 0 and up.requests == []


@pytest.mark.parametrize("path", [
    "/../x",
    "/a/../../x",
    "/a/%2E%2E/%2E%2E/x",
    "/a%2Fb",
    "/a%2fb",
    "/a%00b",
    "/a%0Ab",
    "/a%5Cb",
])
def test_bad_path_is_400_and_not_forwarded(fresh, path):
    gw, up = fresh
    resp = gw.request("GET", path)
    assert_error(resp, 400, "bad_request")
    assert up.requests == [], f"{path} was forwarded as {up.requests[0].target}"


# -- 404 / 405 -------------------------------------------------------------------------------

def test_no_route_is_404(gateway):
    gw = gateway("""
        routes:
          - {path: "/only/**", upstream: "builtin:echo"}
    """)
    resp = gw.request("GET", "/elsewhere")
    assert_error(resp, 404, "no_route")


def test_method_not_allowed_is_405_with_allow(gateway):
    gw = gateway("""
        routes:
          - {name: rw, paths: ["/rw/**"], methods: [GET, PUT], upstream: "builtin:echo"}
          - {name: ro, paths: ["/rw/**"], methods: [HEAD], upstream: "builtin:echo"}
          - {name: other, paths: ["/other"], upstream: "builtin:echo"}
    """)
    resp = gw.request("POST", "/rw/thing", body=b"x")
    assert_error(resp, 405, "method_not_allowed")
    allow = {m.strip() for m in (resp.header("Allow") or "").split(",")}
    assert allow == {"GET", "PUT", "HEAD"}, f"Allow: {resp.header('Allow')!r}"


def test_error_keeps_a_sane_client_request_id(fresh):
    gw, _ = fresh
    resp = gw.request("GET", "/../x", headers=[("X-Request-Id", "client-id-42")])
    doc = assert_error(resp, 400, "bad_request")
    assert doc["request_id"] == "client-id-42"


# -- 408 -------------------------------------------------------------------------------------

def test_half_a_head_then_silence_is_408(fresh):
    gw, up = fresh
    with gw.conn() as c:
        c.send(b"GET /slowloris HTTP/1.1\r\nHost: t\r\nX-Partial: ")
        start = time.monotonic()
        resp = c.read_response(timeout=3)
        elapsed = time.monotonic() - start
        assert_error(resp, 408, "request_timeout")
        assert 0.3 <= elapsed < 2.0, f"408 after {elapsed:.2f}s (header_timeout is 500ms)"
        assert c.wait_closed(timeout=2)
    assert up.requests == []


def test_head_trickled_slower_than_header_timeout_is_408(fresh):
    """The deadline is for the whole head, not for each read."""
    gw, _ = fresh
    with gw.conn() as c:
        c.send(b"GET /trickle HTTP/1.1\r\nHost: t\r\n")
        start = time.monotonic()
        i = 0
        while not c.readable(timeout=0.1) and time.monotonic() - start < 2.0:
            c.send(f"X-Trickle-{i}: v\r\n".encode())
            i += 1
        resp = c.read_response(timeout=3)
        assert_error(resp, 408, "request_timeout")
        assert time.monotonic() - start < 2.0


# -- 413 -------------------------------------------------------------------------------------

def test_content_length_over_the_limit_is_413(fresh):
    gw, up = fresh
    with gw.conn() as c:
        c.send(b"PUT /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1025\r\n\r\n")
        assert_error(c.read_response(), 413, "payload_too_large")
        assert c.wait_closed(timeout=2), "connection left open with an unread body"
    assert up.requests == []


def test_content_length_exactly_at_the_limit_is_accepted(fresh):
    gw, up = fresh
    resp = gw.request("PUT", "/exact", body=b"y" * 1024)
    assert resp.status == 200, resp
    assert up.last().body_len == 1024


def test_chunked_body_exactly_at_the_limit_is_accepted(fresh):
    gw, up = fresh
    body = chunked(b"a" * 1000, b"b" * 24)
    resp = gw.request("PUT", "/exact-chunked", headers=[("Transfer-Encoding", "chunked")],
                      body=body)
    assert resp.status == 200, resp
    assert up.last().body_len == 1024


def test_chunked_body_growing_over_the_limit_is_413(fresh):
    gw, up = fresh
    body = chunked(b"a" * 600, b"b" * 600)
    resp = gw.request("PUT", "/grow", headers=[("Transfer-Encoding", "chunked")], body=body)
    assert_error(resp, 413, "payload_too_large")
    assert up.requests == []


def test_streamed_chunked_body_growing_over_the_limit_is_413(fresh):
    """The head has gone upstream already when the body crosses the limit."""
    gw, up = fresh
    with gw.conn() as c:
        c.send(b"PUT /grow-slowly HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):  # 512, 1024 (at the limit), 1536 bytes
            time.sleep(0.05)
            assert not c.readable(), "answered before the body crossed the limit"
            c.send(b"200\r\n" + b"z" * 512 + b"\r\n")
        resp = c.read_response()
        assert_error(resp, 413, "payload_too_large")
        assert c.wait_closed(timeout=2)
    assert all(r.body_len <= 1024 for r in up.requests)


# -- 431 -------------------------------------------------------------------------------------

def test_head_over_max_header_bytes_is_431(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/big-head", headers=[("X-Big", "a" * 2000)])
    assert_error(resp, 431, "headers_too_large")
    assert up.requests == []


def test_many_small_headers_over_max_header_bytes_is_431(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/many", headers=[(f"X-H{i}", "v" * 40) for i in range(40)])
    assert_error(resp, 431, "headers_too_large")
    assert up.requests == []


def test_head_under_max_header_bytes_is_accepted(fresh):
    gw, up = fresh
    resp = gw.request("GET", "/fits", headers=[("X-Big", "a" * 700)])
    assert resp.status == 200, resp
    assert up.last().header("X-Big") == "a" * 700


# -- 502 / 504 -------------------------------------------------------------------------------

def test_upstream_port_closed_is_502(gateway):
    gw = gateway("""
        routes:
          - {path: "/**", upstream: "http://127.0.0.1:$dead"}
    """, dead=free_port())
    assert_error(gw.request("GET", "/x"), 502, "bad_gateway")


@pytest.mark.parametrize("handler", [
    pytest.param(reset, id="reset"),
    pytest.param(garbage(), id="garbage"),
    pytest.param(garbage(b"\x00\x01\x02binary junk\xff\xfe" * 10), id="binary-garbage"),
    pytest.param(garbage(b"HTTP/1.1 200 OK\r\nContent-Le"), id="truncated-head"),
    pytest.param(garbage(b"HTTP/1.1 abc OK\r\n\r\n"), id="bad-status"),
    pytest.param(hang_up, id="close-without-answer"),
    pytest.param(garbage(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked"
                         b"\r\n\r\n0\r\n\r\n"), id="response-cl-and-te"),
    pytest.param(garbage(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 9"
                         b"\r\n\r\nok"), id="response-two-cl"),
])
def test_upstream_failure_is_502(gateway, upstream, handler):
    up = upstream(handler)
    gw = gateway("""
        routes:
          - {path: "/**", upstream: "$up"}
    """, up=up.url)
    assert_error(gw.request("GET", "/x"), 502, "bad_gateway")
    # The gateway is still fine afterwards.
    assert_error(gw.request("GET", "/y"), 502, "bad_gateway")


SLOW_CONFIG = """
upstreams:
  slow:
    targets: ["$up"]
    timeouts: {response_header: 300ms}
routes:
  - {path: "/header-timeout/**", upstream: slow}
  - {path: "/route-timeout/**", upstream: "http://$up", timeout: 300ms}
  - {path: "/**", upstream: "http://$up"}
"""


@pytest.mark.parametrize("path", ["/header-timeout/x", "/route-timeout/x"])
def test_slow_upstream_is_504(gateway, upstream, path):
    up = upstream(respond(200, b"too late", delay=3.0))
    gw = gateway(SLOW_CONFIG, up=up.address)

    start = time.monotonic()
    resp = gw.request("GET", path, timeout=5)
    elapsed = time.monotonic() - start

    assert_error(resp, 504, "gateway_timeout")
    assert 0.25 <= elapsed < 2.0, f"504 after {elapsed:.2f}s for a 300ms timeout"
    up.wait_requests(1)


def test_upstream_within_its_timeout_is_not_504(gateway, upstream):
    up = upstream(respond(200, b"in time", delay=0.1))
    gw = gateway(SLOW_CONFIG, up=up.address)
    for path in ("/header-timeout/x", "/route-timeout/x"):
        resp = gw.request("GET", path)
        assert (resp.status, resp.body) == (200, b"in time")


# -- keep-alive after an error ---------------------------------------------------------------

KEEPALIVE_CONFIG = """
upstreams:
  slow:
    targets: ["$up"]
    timeouts: {response_header: 300ms}
routes:
  - {name: get-only, methods: [GET], path: "/get-only", upstream: "builtin:echo"}
  - {name: echo, path: "/echo/**", upstream: "builtin:echo"}
  - {name: dead, path: "/dead/**", upstream: "http://127.0.0.1:$dead"}
  - {name: slow, path: "/slow/**", upstream: slow}
"""


@pytest.mark.parametrize("method,target,status,code", [
    ("GET", "/nothing/here", 404, "no_route"),
    ("DELETE", "/get-only", 405, "method_not_allowed"),
    ("GET", "/../etc/passwd", 400, "bad_request"),
    ("GET", "/echo/a%2Fb", 400, "bad_request"),
    ("OPTIONS", "*", 400, "bad_request"),
    ("GET", "/dead/x", 502, "bad_gateway"),
    ("GET", "/slow/x", 504, "gateway_timeout"),
])
def test_error_is_answered_once_and_the_connection_stays_in_step(gateway, upstream, method,
                                                                 target, status, code):
    """One request, one answer: the next request on the connection gets its own response."""
    up = upstream(respond(200, b"late", delay=2.0))
    gw = gateway(KEEPALIVE_CONFIG, up=up.address, dead=free_port())

    with gw.conn() as c:
        c.send(f"{method} {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
        assert_error(c.read_response(), status, code)
        if c.readable(timeout=0.3):
            extra = c.recv_some(timeout=1)
            assert extra == b"", (f"unsolicited bytes after the {status} answer to one request: "
                                  f"{len(extra)} bytes, starting {extra[:120]!r}")
            return  # closed after the error: allowed
        nxt = c.request("GET", "/echo/next")
        assert nxt.status == 200, f"the request after a {status} got {nxt!r}"
        assert nxt.json()["path"] == "/echo/next"
