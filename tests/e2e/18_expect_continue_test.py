"""`Expect: 100-continue` (SPEC §4): the gateway invites the body only when it will take it."""
from support.client import assert_error
from support.upstream import echo

CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
  limits: {max_body_bytes: 1KiB}
routes:
  - {path: "/**", upstream: "$up"}
"""

BODY = b"the body, sent only after 100 Continue"


def test_client_gets_100_continue_then_the_final_response(gateway, upstream):
    up = upstream(echo)
    gw = gateway(CONFIG, up=up.url)

    with gw.conn() as c:
        c.send(f"POST /expect HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               f"Content-Length: {len(BODY)}\r\n\r\n".encode())
        interim = c.read_head(timeout=3)
        assert interim.status == 100, f"expected 100 Continue first, got {interim!r}"
        c.send(BODY)
        resp = c.read_response()
        assert resp.status == 200, resp
        assert c.request("GET", "/next").status == 200  # connection still usable

    assert up.requests[0].body == BODY
    assert up.requests[0].method == "POST"


def test_client_that_does_not_wait_for_100_continue_is_served(gateway, upstream):
    up = upstream(echo)
    gw = gateway(CONFIG, up=up.url)

    with gw.conn() as c:
        c.send(f"PUT /eager HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               f"Content-Length: {len(BODY)}\r\n\r\n".encode() + BODY)
        resp = c.read_response()  # an interim 100, if any, is skipped
        assert resp.status == 200, resp
    assert up.last().body == BODY


def test_over_limit_body_gets_413_without_100_continue(gateway, upstream):
    up = upstream(echo)
    gw = gateway(CONFIG, up=up.url)

    with gw.conn() as c:
        c.send(b"POST /too-big HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
               b"Content-Length: 4096\r\n\r\n")
        first = c.read_head(timeout=3)
        assert first.status != 100, "100 Continue sent for a body that will be refused"
        resp = c.read_body(first)
        assert_error(resp, 413, "payload_too_large")
        assert c.wait_closed(timeout=2), "connection with an unread body left open"
    assert up.accepted == 0 and up.requests == []
