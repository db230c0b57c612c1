"""Proxying basics (SPEC §4): requests reach the upstream as sent, responses come back as
answered, and connections are kept alive on both sides."""
import time

from support.client import build_request
from support.upstream import by_path, echo, respond, response_head

PROXY = """
routes:
  - {path: "/**", upstream: "$up"}
"""


def test_request_reaches_upstream_and_response_comes_back(gateway, upstream):
    up = upstream(respond(201, b"created!", headers=[("X-Upstream", "yes"),
                                                    ("Content-Type", "text/plain")]))
    gw = gateway(PROXY, up=up.url)

    resp = gw.request("POST", "/a/b?x=1&y=two", headers=[("X-Custom", "v1")],
                      body=b"hello upstream", host="svc.example")

    assert resp.status == 201
    assert resp.body == b"created!"
    assert resp.header("X-Upstream") == "yes"
    assert resp.header("Content-Type") == "text/plain"
    req = up.last()
    assert req.method == "POST"
    assert req.target == "/a/b?x=1&y=two"
    assert req.version == "HTTP/1.1"
    assert req.header("Host") == "svc.example"
    assert req.header("X-Custom") == "v1"
    assert req.body == b"hello upstream"
    assert req.header("Content-Length") == str(len(b"hello upstream"))


def test_upstream_error_statuses_pass_through_unchanged(gateway, upstream):
    up = upstream(by_path({
        "/missing": respond(404, b"upstream 404"),
        "/broken": respond(503, b"upstream 503", headers=[("Retry-After", "7")]),
    }))
    gw = gateway(PROXY, up=up.url)

    missing = gw.request("GET", "/missing")
    broken = gw.request("GET", "/broken")

    assert (missing.status, missing.body) == (404, b"upstream 404")
    assert (broken.status, broken.body) == (503, b"upstream 503")
    assert broken.header("Retry-After") == "7"


def test_client_keepalive_serves_several_requests_on_one_socket(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        for i in range(5):
            resp = c.request("POST" if i % 2 else "GET", f"/item/{i}",
                             body=(b"x" * i if i % 2 else b""))
            assert resp.status == 200, resp
            doc = resp.json()
            assert doc["path"] == f"/item/{i}"
            assert doc["body_len"] == (i if i % 2 else 0)
            assert (resp.header("Connection") or "").lower() != "close"
        assert not c.wait_closed(timeout=0.2), "gateway closed a keep-alive connection"
    assert len(up.requests) == 5


def test_pipelined_requests_are_answered_in_order(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        c.send(b"".join(build_request("GET", f"/p/{i}") for i in range(3)) +
               build_request("POST", "/p/3", body=b"last"))
        paths = [c.read_response().json()["path"] for _ in range(4)]
    assert paths == ["/p/0", "/p/1", "/p/2", "/p/3"]


def test_50_sequential_requests_reuse_one_upstream_connection(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url, workers=1)

    with gw.conn() as c:
        for i in range(50):
            resp = c.request("GET", f"/seq/{i}")
            assert resp.status == 200, resp
    assert len(up.requests) == 50
    assert up.accepted == 1, f"upstream accepted {up.accepted} connections for 50 requests"
    assert {r.conn_id for r in up.requests} == {1}


def test_upstream_connection_is_reused_across_client_connections(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url, workers=1)

    for client_conn in range(5):
        with gw.conn() as c:
            for i in range(6):
                assert c.request("GET", f"/c{client_conn}/{i}").status == 200
    for i in range(10):  # one client connection per request
        resp = gw.request("GET", f"/close/{i}", headers=[("Connection", "close")])
        assert resp.status == 200
        assert (resp.header("Connection") or "").lower() == "close"
    assert len(up.requests) == 40
    assert up.accepted == 1, f"upstream accepted {up.accepted} connections for 40 requests"


def test_several_workers_still_pool_upstream_connections(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url, workers=2)

    for i in range(40):
        with gw.conn() as c:
            assert c.request("GET", f"/w/{i}").status == 200
    # At most one idle connection per worker is needed for sequential requests.
    assert up.accepted <= 2, f"upstream accepted {up.accepted} connections for 40 requests"


def test_http10_client_gets_the_response_and_the_connection_closed(gateway, upstream):
    up = upstream(respond(200, b"for an old client"))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        c.send(b"GET /old HTTP/1.0\r\nHost: test.local\r\n\r\n")
        resp = c.read_response()
        assert resp.status == 200
        assert resp.body == b"for an old client"
        assert c.wait_closed(timeout=2), "HTTP/1.0 connection without keep-alive left open"
    assert up.last().version == "HTTP/1.1"


def test_http10_keepalive_client_keeps_its_connection(gateway, upstream):
    up = upstream(respond(200, b"again"))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        for _ in range(2):
            c.send(b"GET /ka HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
            resp = c.read_response()
            assert (resp.status, resp.body, resp.framing) == (200, b"again", "length")
            assert (resp.header("Connection") or "").lower() == "keep-alive"


def _special(req, ctx):
    """HEAD, 204, 304 and an interim 100 before the real answer."""
    if req.method == "HEAD":
        ctx.send(response_head(200, [("Content-Length", "1000"), ("X-Kind", "head")]))
    elif req.path == "/204":
        ctx.send(response_head(204, [("X-Kind", "204")]))
    elif req.path == "/304":
        ctx.send(response_head(304, [("ETag", '"v1"')], reason="Not Modified"))
    elif req.path == "/interim":
        ctx.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        time.sleep(0.05)
        ctx.send(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n")
        time.sleep(0.05)
        ctx.send(response_head(200, [("Content-Length", "5")]) + b"final")
    else:
        return echo(req, ctx)
    return True


def test_bodiless_responses_keep_the_connection_in_step(gateway, upstream):
    up = upstream(_special)
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        head = c.request("HEAD", "/thing")
        assert (head.status, head.header("X-Kind"), head.body) == (200, "head", b"")
        assert head.header("Content-Length") == "1000"
        no_content = c.request("GET", "/204")
        assert (no_content.status, no_content.body) == (204, b"")
        not_modified = c.request("GET", "/304")
        assert (not_modified.status, not_modified.body) == (304, b"")
        interim = c.request("GET", "/interim")
        assert (interim.status, interim.body) == (200, b"final")
        after = c.request("GET", "/after")
        assert after.status == 200 and after.json()["path"] == "/after"
        assert not c.readable(timeout=0.1), f"stray bytes after the responses: {c.buf!r}"
    assert up.accepted == 1


def _close_after_answer(req, ctx):
    ctx.send(response_head(200, [("Content-Length", "2")]) + b"ok")
    return False  # closes without having said Connection: close


def test_upstream_closing_its_kept_alive_connection_is_not_an_error(gateway, upstream):
    up = upstream(_close_after_answer)
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        for i in range(5):
            resp = c.request("GET", f"/n/{i}")
            assert (resp.status, resp.body) == (200, b"ok"), resp
    for i in range(3):
        time.sleep(0.05)
        assert gw.request("GET", f"/later/{i}").status == 200
    assert up.accepted == 8


def test_upstream_connection_close_is_honoured(gateway, upstream):
    up = upstream(respond(200, b"bye", headers=[("Connection", "close")]))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        for _ in range(3):
            resp = c.request("GET", "/bye")
            assert (resp.status, resp.body) == (200, b"bye")
    assert up.accepted == 3, "a connection the upstream said it would close was reused"


def test_idle_keepalive_connection_is_closed_after_idle_timeout(gateway, upstream):
    up = upstream(echo)
    gw = gateway("""
        server:
          listeners: [{name: public, address: "$listen"}]
          limits: {idle_timeout: 300ms}
        routes:
          - {path: "/**", upstream: "$up"}
    """, up=up.url)

    with gw.conn() as c:
        assert c.request("GET", "/x").status == 200
        start = time.monotonic()
        assert c.wait_closed(timeout=2), "idle connection not closed"
        assert 0.2 <= time.monotonic() - start < 1.5
