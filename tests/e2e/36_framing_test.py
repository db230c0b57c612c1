"""The gateway writes the framing and the addressing of every message it forwards (RFC 9110
§7.6.1, RFC 9112 §6): a `Connection` token can remove only the sender's copy of a field, never
unframe a body into a smuggled request; an invalid Host is answered 400 and never routed; a
response to HEAD, the gateway's own answers included, is the head alone.

Each case is followed by a second request on the same client connection, which must arrive
intact, and the upstream connection must be reused safely (one request per upstream request
head, counted per upstream connection)."""
import time

import pytest

from support.client import assert_error, chunked, refused_port
from support.upstream import echo, respond, response_head

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
assert len(SMUGGLED) == 43

CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
routes:
  - {name: internal, hosts: [admin.internal], paths: ["/**"], upstream: "$up"}
  - {name: example, hosts: [example.com], paths: ["/**"], upstream: "$up"}
  - {name: all, paths: ["/**"], upstream: "$up"}
"""


def framed_answers(req, ctx):
    """Echo, except /resp-* paths, which answer with a Connection header naming the framing."""
    if req.path == "/resp-cl":
        body = b"" if req.method == "HEAD" else b"hello"
        ctx.send(response_head(200, [("Content-Length", "5"),
                                     ("Connection", "Content-Length")]) + body)
        return True
    if req.path == "/resp-te":
        ctx.send(response_head(200, [("Transfer-Encoding", "chunked"),
                                     ("Connection", "Transfer-Encoding, keep-alive")])
                 + b"5\r\nhello\r\n0\r\n\r\n")
        return True
    if req.path == "/resp-cl-padded":
        ctx.send(response_head(200, [("Content-Length", "005")]) + b"hello")
        return True
    return echo(req, ctx)


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(framed_answers)
    gw = module_stack.gateway(CONFIG, up=up.url)
    return gw, up


def follow_up(c, up, before: int):
    """A plain GET on the same client connection: it must arrive intact, alone, and on the
    upstream connection the first request used."""
    resp = c.request("GET", "/after", headers=[("Host", "localhost")])
    assert resp.status == 200, resp
    reqs = up.wait_requests(before + 1)
    time.sleep(0.05)  # a smuggled extra request would have arrived by now
    assert len(up.requests) == before + 1, [r.target for r in up.requests]
    assert up.requests[-1].target == "/after"
    assert up.requests[-1].conn_id == reqs[0].conn_id, "the upstream connection was not reused"


# -- requests --------------------------------------------------------------------------------

def test_connection_naming_content_length_cannot_unframe_the_body(fresh):
    gw, up = fresh
    raw = (b"POST /hop-conn-cl HTTP/1.1\r\nHost: localhost\r\nContent-Length: 43\r\n"
           b"Connection: Content-Length\r\n\r\n" + SMUGGLED)
    with gw.conn() as c:
        c.send(raw)
        assert c.read_response().status == 200
        [req] = up.wait_requests(1)
        assert req.target == "/hop-conn-cl"
        assert req.header_all("Content-Length") == ["43"]
        assert req.body == SMUGGLED
        follow_up(c, up, 1)
    assert not [r for r in up.requests if r.target == "/smuggled"]


def test_connection_naming_transfer_encoding_keeps_the_chunked_body(fresh):
    gw, up = fresh
    body = chunked(SMUGGLED[:20], SMUGGLED[20:])
    raw = (b"POST /hop-conn-te HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
           b"Connection: Transfer-Encoding\r\n\r\n" + body)
    with gw.conn() as c:
        c.send(raw)
        assert c.read_response().status == 200
        [req] = up.wait_requests(1)
        assert req.header_all("Transfer-Encoding") == ["chunked"]
        assert req.header("Content-Length") is None
        assert req.body == SMUGGLED
        follow_up(c, up, 1)


def test_connection_naming_host_keeps_the_routed_host(fresh):
    gw, up = fresh
    raw = (b"GET /hop-conn-host HTTP/1.1\r\nHost: example.com\r\nConnection: Host\r\n\r\n")
    with gw.conn() as c:
        c.send(raw)
        resp = c.read_response()
        assert resp.status == 200
        [req] = up.wait_requests(1)
        assert req.header_all("Host") == ["example.com"]
        follow_up(c, up, 1)


def test_padded_content_length_is_forwarded_canonically(fresh):
    gw, up = fresh
    raw = (b"POST /padded HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0043\r\n\r\n"
           + SMUGGLED)
    with gw.conn() as c:
        c.send(raw)
        assert c.read_response().status == 200
        [req] = up.wait_requests(1)
        assert req.header_all("Content-Length") == ["43"]
        assert req.body == SMUGGLED
        follow_up(c, up, 1)


def test_x_forwarded_for_named_in_connection_restarts_the_chain(fresh):
    gw, up = fresh
    raw = (b"GET /xff HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 6.6.6.6\r\n"
           b"Connection: X-Forwarded-For\r\n\r\n")
    with gw.conn() as c:
        c.send(raw)
        assert c.read_response().status == 200
        [req] = up.wait_requests(1)
        assert req.header_all("X-Forwarded-For") == ["127.0.0.1"]
        follow_up(c, up, 1)


def test_connection_naming_gateway_fields_keeps_them(fresh):
    gw, up = fresh
    raw = (b"GET /own HTTP/1.1\r\nHost: localhost\r\nX-Request-Id: keep-me-1\r\n"
           b"Connection: X-Request-Id, traceparent, X-Forwarded-Proto\r\n\r\n")
    with gw.conn() as c:
        c.send(raw)
        resp = c.read_response()
        assert resp.status == 200
        [req] = up.wait_requests(1)
        assert len(req.header_all("X-Request-Id")) == 1
        assert len(req.header_all("traceparent")) == 1
        assert req.header_all("X-Forwarded-Proto") == ["http"]
        follow_up(c, up, 1)


# -- responses -------------------------------------------------------------------------------

@pytest.mark.parametrize("path,framing", [("/resp-cl", "length"), ("/resp-te", "chunked"),
                                          ("/resp-cl-padded", "length")])
def test_response_connection_naming_its_framing_is_framed_correctly(fresh, path, framing):
    gw, up = fresh
    with gw.conn() as c:
        resp = c.request("GET", path, headers=[("Host", "localhost")])
        assert resp.status == 200
        assert resp.framing == framing
        assert resp.body == b"hello"
        assert resp.header("Connection") is None
        if framing == "length":
            assert resp.header_all("Content-Length") == ["5"]
        follow_up(c, up, 1)


# -- Host ------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", [
    pytest.param(b"admin.internal x", id="space"),
    pytest.param(b"public.example@admin.internal", id="at"),
    pytest.param(b"admin.internal/x", id="slash"),
    pytest.param(b"admin.internal\\x", id="backslash"),
    pytest.param(b"admin.internal\x01", id="control"),
    pytest.param(b"admin.internal:", id="empty-port"),
    pytest.param(b"admin.internal:80x", id="non-numeric-port"),
    pytest.param(b"admin.internal:99999", id="port-out-of-range"),
    pytest.param(b"[::1", id="unclosed-ipv6"),
    pytest.param(b"[zz::1]", id="bad-ipv6"),
])
def test_invalid_host_is_400_and_never_forwarded(fresh, host):
    gw, up = fresh
    with gw.conn() as c:
        c.send(b"GET /h HTTP/1.1\r\nHost: " + host + b"\r\n\r\n")
        assert_error(c.read_response(), 400, "bad_request")
    time.sleep(0.05)
    assert up.requests == []


def test_invalid_absolute_form_authority_is_400(fresh):
    gw, up = fresh
    with gw.conn() as c:
        c.send(b"GET http://user@admin.internal/h HTTP/1.1\r\nHost: example.com\r\n\r\n")
        assert_error(c.read_response(), 400, "bad_request")
    time.sleep(0.05)
    assert up.requests == []


@pytest.mark.parametrize("host,route_host", [
    ("[::1]:8080", "[::1]:8080"),
    ("example.com.", "example.com."),
    ("EXAMPLE.COM", "EXAMPLE.COM"),
    ("example.com:8080", "example.com:8080"),
    ("admin.internal", "admin.internal"),
])
def test_valid_hosts_route(fresh, host, route_host):
    gw, up = fresh
    resp = gw.request("GET", "/h", headers=[("Host", host)])
    assert resp.status == 200, resp
    [req] = up.wait_requests(1)
    assert req.header_all("Host") == [route_host]


# -- HEAD answered by the gateway ------------------------------------------------------------

LIMITS = """
server:
  listeners: [{name: public, address: "$listen"}]
  limits: {max_body_bytes: 16, max_header_bytes: 1KiB}
routes:
  - {name: post-only, paths: ["/post-only"], methods: [POST], upstream: "$up"}
  - {name: refused, paths: ["/refused"], upstream: "http://127.0.0.1:$dead"}
  - {name: echo, paths: ["/after", "/big", "/x"], upstream: "$up"}
"""



@pytest.fixture(scope="module")
def limits_env(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(LIMITS, up=up.url, dead=str(refused_port()))
    return gw, up


HEAD_CASES = {
    # status, error, raw HEAD request; keep: the connection stays open for the next request.
    "400": (400, "bad_request", b"HEAD /../x HTTP/1.1\r\nHost: t\r\n\r\n", True),
    "404": (404, "no_route", b"HEAD /nowhere HTTP/1.1\r\nHost: t\r\n\r\n", True),
    "405": (405, "method_not_allowed", b"HEAD /post-only HTTP/1.1\r\nHost: t\r\n\r\n", True),
    "413": (413, "payload_too_large",
            b"HEAD /big HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\n", False),
    "431": (431, "headers_too_large",
            b"HEAD /x HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 2048 + b"\r\n\r\n", False),
    "502": (502, "bad_gateway", b"HEAD /refused HTTP/1.1\r\nHost: t\r\n\r\n", True),
}


@pytest.mark.parametrize("case", list(HEAD_CASES), ids=list(HEAD_CASES))
def test_head_answered_by_the_gateway_has_no_content(limits_env, case):
    gw, up = limits_env
    status, error, raw, keep = HEAD_CASES[case]
    with gw.conn() as c:
        c.send(raw)
        resp = c.read_head()
        assert resp.status == status, resp
        assert resp.header("Content-Type") == "application/json"
        length = int(resp.header("Content-Length"))
        assert length > 0  # what a GET would have carried
        if resp.header("Connection") == "close":
            assert c.wait_closed(), "no close after Connection: close"
            assert c.buf == b"", f"content after a HEAD answer: {c.buf!r}"
            assert keep is not True, f"{case}: closed, though the connection could go on"
            return
        assert keep is not False, f"{case}: kept open after an unread body or head"
        # The next response must start right after the head.
        nxt = c.request("GET", "/after", headers=[("Host", "t")])
        assert nxt.status == 200, nxt
        assert nxt.json()["path"] == "/after"


def test_head_answer_to_timeout_has_no_content(module_stack):
    up = module_stack.upstream(respond(200, b"late", delay=3.0))
    gw = module_stack.gateway("""
        server:
          listeners: [{name: public, address: "$listen"}]
        routes:
          - {name: slow, paths: ["/**"], upstream: "$up", timeout: 300ms}
    """, up=up.url)
    with gw.conn() as c:
        c.send(b"HEAD /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        resp = c.read_head()
        assert resp.status == 504, resp
        assert int(resp.header("Content-Length")) > 0
        if resp.header("Connection") == "close":
            assert c.wait_closed() and c.buf == b""
            return
        nxt = c.request("GET", "/after", headers=[("Host", "t")], timeout=10)
        assert nxt.status == 504  # the same slow upstream: a full answer this time
        assert_error(nxt, 504, "gateway_timeout")


def test_head_forwarded_keeps_the_stated_length(fresh):
    gw, up = fresh
    with gw.conn() as c:
        c.send(b"HEAD /resp-cl HTTP/1.1\r\nHost: localhost\r\n\r\n")
        resp = c.read_head()
        assert resp.status == 200
        assert resp.header_all("Content-Length") == ["5"]
        follow_up(c, up, 1)
