"""A client that hangs up mid-request cancels the upstream exchange (SPEC §4, STYLE
"deadlines everywhere"): the upstream connection is closed, not pooled, and not left waiting."""
import time

from support.client import wait_until
from support.upstream import by_path, echo, respond, stream

MiB = 1024 * 1024
PROXY = """
routes:
  - {path: "/**", upstream: "$up"}
"""

SLOW = 3.0


def test_client_gone_closes_the_upstream_connection_and_does_not_pool_it(gateway, upstream):
    up = upstream(by_path({"/slow": respond(200, b"too late", delay=SLOW)}, default=echo))
    gw = gateway(PROXY, up=up.url, workers=1)

    c = gw.conn()
    c.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    up.wait_requests(1)
    hung_up = time.monotonic()
    c.close()

    closed = wait_until(lambda: up.events_of("peer_closed"), timeout=SLOW,
                        what="the gateway to close the upstream connection")
    assert closed[0][1] == 1
    assert closed[0][2] - hung_up < 1.0, (
        f"upstream connection closed {closed[0][2] - hung_up:.2f}s after the client left")

    resp = gw.request("GET", "/fast")
    assert resp.status == 200, resp
    assert up.last().conn_id == 2, "the abandoned upstream connection was pooled and reused"
    assert up.accepted == 2


def test_client_gone_with_pooled_connection_in_use(gateway, upstream):
    """The same with an upstream connection that came from the pool."""
    up = upstream(by_path({"/slow": respond(200, b"too late", delay=SLOW)}, default=echo))
    gw = gateway(PROXY, up=up.url, workers=1)
    assert gw.request("GET", "/warm").status == 200  # leaves connection 1 in the pool

    c = gw.conn()
    c.send(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
    up.wait_requests(2)
    assert up.requests[1].conn_id == 1
    hung_up = time.monotonic()
    c.close()

    closed = wait_until(lambda: up.events_of("peer_closed"), timeout=SLOW,
                        what="the gateway to close the upstream connection")
    assert closed[0][2] - hung_up < 1.0

    assert gw.request("GET", "/after").status == 200
    assert up.last().conn_id == 2


def test_client_gone_mid_download_stops_the_upstream_transfer(gateway, upstream):
    up = upstream(by_path({"/download": stream(200 * MiB)}, default=echo))
    gw = gateway(PROXY, up=up.url, workers=1)

    c = gw.conn()
    c.send(b"GET /download HTTP/1.1\r\nHost: t\r\n\r\n")
    assert c.read_head().status == 200
    got = 0
    while got < MiB:
        piece = c.recv_some()
        assert piece, "download ended early"
        got += len(piece)
    hung_up = time.monotonic()
    c.close()

    ended = wait_until(lambda: up.events_of("error") + up.events_of("peer_closed"), timeout=3,
                       what="the upstream transfer to be cut")
    assert ended[0][2] - hung_up < 1.0
    assert gw.request("GET", "/after").status == 200
    assert up.last().conn_id == 2


def test_client_gone_mid_upload_closes_the_upstream_connection(gateway, upstream):
    up = upstream(echo, store_limit=0)
    gw = gateway("""
        server:
          listeners: [{name: public, address: "$listen"}]
          limits: {max_body_bytes: 200MiB}
        routes:
          - {path: "/**", upstream: "$up"}
    """, up=up.url, workers=1)

    c = gw.conn()
    c.send(f"PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: {100 * MiB}\r\n\r\n".encode())
    c.send(b"u" * MiB)
    wait_until(lambda: up.events_of("head"), what="the upstream to get the head")
    time.sleep(0.1)
    hung_up = time.monotonic()
    c.close()

    ended = wait_until(lambda: up.events_of("error") + up.events_of("peer_closed"), timeout=3,
                       what="the upstream connection to be closed")
    assert ended[0][2] - hung_up < 1.0
    assert up.requests == [], "a truncated upload was delivered as a complete request"
    assert gw.request("GET", "/after").status == 200
    assert up.last().conn_id == 2
