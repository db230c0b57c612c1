"""Chunked framing both ways (SPEC §4), and responses delimited by the upstream closing."""
import hashlib
import random
import time

from support.upstream import by_path, echo, respond

PROXY = """
routes:
  - {path: "/**", upstream: "$up"}
"""

PIECES = [b"first piece;", b"", b"second, a bit longer piece\r\n with CRLF inside;",
          b"x" * 5000, b"last"]
BODY = b"".join(PIECES)


def test_chunked_request_body_arrives_intact_and_chunked(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        c.send(b"POST /upload?kind=chunked HTTP/1.1\r\nHost: t\r\n"
               b"Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
        for piece in PIECES:
            if piece:
                time.sleep(0.02)  # separate reads at the gateway
                c.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        c.send(b"0\r\n\r\n")
        resp = c.read_response()

    assert resp.status == 200, resp
    req = up.last()
    assert req.header("Transfer-Encoding") == "chunked"
    assert req.header("Content-Length") is None
    assert req.chunked
    assert req.body == BODY
    assert req.target == "/upload?kind=chunked"


def test_chunked_request_body_of_1MiB_in_random_pieces(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)
    rng = random.Random(7)
    body = rng.randbytes(1 << 20)
    wire = b""
    i = 0
    while i < len(body):
        n = rng.randint(1, 70000)
        wire += f"{len(body[i:i + n]):x}\r\n".encode() + body[i:i + n] + b"\r\n"
        i += n
    wire += b"0\r\n\r\n"

    with gw.conn() as c:
        c.send(b"POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for j in range(0, len(wire), 65536):  # split without regard to chunk boundaries
            c.send(wire[j:j + 65536])
        resp = c.read_response()
        assert resp.status == 200, resp
        assert c.request("GET", "/after").status == 200  # the connection is still in step

    req = up.wait_requests(2)[0]
    assert req.chunked
    assert req.body_len == len(body)
    assert req.body_sha256 == hashlib.sha256(body).hexdigest()


def test_chunked_response_reaches_http11_client_chunked_and_intact(gateway, upstream):
    up = upstream(respond(200, pieces=PIECES, mode="chunked", piece_pause=0.02,
                          headers=[("Content-Type", "text/plain")]))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        resp = c.request("GET", "/chunked")
        assert resp.status == 200
        assert resp.framing == "chunked", resp
        assert resp.header("Transfer-Encoding") == "chunked"
        assert resp.header("Content-Length") is None
        assert resp.body == BODY
        # Framing was right: the next response on the same connection parses.
        again = c.request("GET", "/chunked")
        assert again.body == BODY


def test_chunked_response_reaches_http10_client_dechunked_then_closed(gateway, upstream):
    up = upstream(respond(200, pieces=PIECES, mode="chunked", piece_pause=0.02))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        c.send(b"GET /chunked HTTP/1.0\r\nHost: t\r\n\r\n")
        resp = c.read_response()
        assert resp.status == 200
        assert resp.header("Transfer-Encoding") is None, resp
        assert resp.body == BODY, "HTTP/1.0 client got a body that is not de-chunked"
        assert resp.framing in ("close", "length")
        assert c.wait_closed(timeout=2)


def test_chunked_response_to_http10_keepalive_client_is_dechunked(gateway, upstream):
    up = upstream(respond(200, pieces=PIECES, mode="chunked"))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        c.send(b"GET /chunked HTTP/1.0\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        resp = c.read_response(timeout=3)
        assert resp.status == 200
        assert resp.header("Transfer-Encoding") is None, resp
        assert resp.body == BODY


def test_read_until_close_response_reaches_http11_client_chunked(gateway, upstream):
    up = upstream(by_path({"/eof": respond(200, pieces=PIECES, mode="close", piece_pause=0.02)}))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        resp = c.request("GET", "/eof")
        assert resp.status == 200
        assert resp.framing == "chunked", resp
        assert resp.body == BODY
        # The client's connection outlives the upstream's.
        assert c.request("GET", "/other").status == 200
        assert c.request("GET", "/eof").body == BODY
    conn_ids = [r.conn_id for r in up.requests]
    assert conn_ids[0] != conn_ids[1], "a read-until-close upstream connection was reused"


def test_read_until_close_response_reaches_http10_client_then_closed(gateway, upstream):
    up = upstream(respond(200, pieces=PIECES, mode="close"))
    gw = gateway(PROXY, up=up.url)

    with gw.conn() as c:
        c.send(b"GET /eof HTTP/1.0\r\nHost: t\r\n\r\n")
        resp = c.read_response()
        assert resp.status == 200
        assert resp.header("Transfer-Encoding") is None
        assert resp.body == BODY
        assert c.wait_closed(timeout=2)
