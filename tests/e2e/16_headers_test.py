"""Header handling (SPEC §4): hop-by-hop fields stay on their hop; X-Forwarded-* and
X-Request-Id are added for the upstream; the response carries X-Request-Id."""
import re

import pytest

from support.upstream import echo, respond

PROXY = """
server:
  listeners: [{name: public, address: "$listen"}]
  trusted_proxies: [10.0.0.0/8]   # the test client (127.0.0.1) is not a trusted proxy
routes:
  - {path: "/**", upstream: "$up"}
"""

HEX32 = re.compile(r"^[0-9a-f]{32}$")

REQUEST_HOP_BY_HOP = ["Connection", "X-Hop-One", "X-Hop-Two", "Keep-Alive", "TE", "Trailer",
                      "Upgrade", "Proxy-Authorization", "Proxy-Connection"]


def names(headers) -> set[str]:
    return {n.lower() for n, _ in headers}


def test_request_hop_by_hop_headers_are_not_forwarded(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    resp = gw.request("GET", "/hop", headers=[
        ("Connection", "keep-alive, X-Hop-One, x-hop-two"),
        ("X-Hop-One", "1"),
        ("X-Hop-Two", "2"),
        ("Keep-Alive", "timeout=5, max=100"),
        ("TE", "trailers"),
        ("Trailer", "X-Checksum"),
        ("Upgrade", "h2c"),
        ("Proxy-Authorization", "Basic Zm9vOmJhcg=="),
        ("Proxy-Connection", "keep-alive"),
        ("X-End-To-End", "kept"),
    ])

    assert resp.status == 200, resp
    req = up.last()
    seen = names(req.headers)
    for name in REQUEST_HOP_BY_HOP[1:]:
        assert name.lower() not in seen, f"hop-by-hop {name} forwarded: {req.headers}"
    for value in req.header_all("Connection"):
        assert "hop" not in value.lower(), f"Connection forwarded as {value!r}"
    assert req.header("X-End-To-End") == "kept"


def test_non_websocket_upgrade_is_not_forwarded(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    resp = gw.request("GET", "/upgrade", headers=[("Connection", "Upgrade, HTTP2-Settings"),
                                                  ("Upgrade", "h2c"),
                                                  ("HTTP2-Settings", "AAMAAABkAARAAAAA")])

    assert resp.status == 200, resp
    req = up.last()
    assert req.header("Upgrade") is None, req.headers
    assert req.header("HTTP2-Settings") is None, req.headers
    for value in req.header_all("Connection"):
        assert "upgrade" not in value.lower(), f"Connection forwarded as {value!r}"


def test_response_hop_by_hop_headers_are_not_forwarded(gateway, upstream):
    up = upstream(respond(200, b"body", headers=[
        ("Connection", "X-Resp-Hop"),
        ("X-Resp-Hop", "1"),
        ("Keep-Alive", "timeout=5, max=100"),
        ("Proxy-Authenticate", "Basic realm=upstream"),
        ("Upgrade", "h2c"),
        ("X-End-To-End", "kept"),
    ]))
    gw = gateway(PROXY, up=up.url)

    resp = gw.request("GET", "/resp-hop")

    assert (resp.status, resp.body) == (200, b"body")
    seen = names(resp.headers)
    for name in ["X-Resp-Hop", "Keep-Alive", "Proxy-Authenticate", "Upgrade"]:
        assert name.lower() not in seen, f"hop-by-hop {name} reached the client: {resp.headers}"
    for value in resp.header_all("Connection"):
        assert "resp-hop" not in value.lower()
    assert resp.header("X-End-To-End") == "kept"


def test_forwarded_headers_are_added(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    assert gw.request("GET", "/fwd", host="api.example.com:8443").status == 200

    req = up.last()
    assert req.header_all("X-Forwarded-For") == ["127.0.0.1"]
    assert req.header_all("X-Forwarded-Proto") == ["http"]
    assert req.header_all("X-Forwarded-Host") == ["api.example.com:8443"]
    assert req.header("Host") == "api.example.com:8443"


def test_x_forwarded_for_appends_the_peer_to_the_clients_list(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    gw.request("GET", "/one", headers=[("X-Forwarded-For", "203.0.113.7, 198.51.100.2")])
    one = up.last()
    gw.request("GET", "/two", headers=[("X-Forwarded-For", "203.0.113.7"),
                                       ("X-Forwarded-For", "198.51.100.2")])
    two = up.last()

    assert one.header_all("X-Forwarded-For") == ["203.0.113.7, 198.51.100.2, 127.0.0.1"]
    assert two.header_all("X-Forwarded-For") == ["203.0.113.7, 198.51.100.2, 127.0.0.1"]


def test_untrusted_client_cannot_forge_forwarded_proto_or_host(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    gw.request("GET", "/forged", host="real.example.com", headers=[
        ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "evil.example.com")])

    req = up.last()
    assert req.header_all("X-Forwarded-Proto") == ["http"]
    assert req.header_all("X-Forwarded-Host") == ["real.example.com"]


def test_sane_request_id_is_kept_and_returned(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    resp = gw.request("GET", "/rid", headers=[("X-Request-Id", "req-abc_123.XYZ")])

    assert resp.status == 200
    assert resp.header_all("X-Request-Id") == ["req-abc_123.XYZ"]
    assert up.last().header_all("X-Request-Id") == ["req-abc_123.XYZ"]


def test_request_id_is_generated_when_absent(gateway, upstream):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    first = gw.request("GET", "/rid")
    upstream_first = up.last()
    second = gw.request("GET", "/rid")

    rid = first.header("X-Request-Id")
    assert rid and HEX32.match(rid), f"generated request id {rid!r} is not 32 hex chars"
    assert upstream_first.header_all("X-Request-Id") == [rid]
    assert HEX32.match(second.header("X-Request-Id") or "")
    assert second.header("X-Request-Id") != rid, "two requests got the same generated id"


@pytest.mark.parametrize("bad_id", [
    pytest.param("a" * 300, id="too-long"),
    pytest.param("has spaces in it", id="space"),
    pytest.param("caf\xe9-\xff\xfe", id="non-ascii"),
])
def test_insane_request_id_is_replaced(gateway, upstream, bad_id):
    up = upstream(echo)
    gw = gateway(PROXY, up=up.url)

    resp = gw.request("GET", "/rid", headers=[("X-Request-Id", bad_id)])

    assert resp.status == 200, resp
    rid = resp.header("X-Request-Id")
    assert rid and HEX32.match(rid), f"request id {rid!r} was not replaced by a generated one"
    assert up.last().header_all("X-Request-Id") == [rid]
