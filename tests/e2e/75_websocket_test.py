"""WebSocket tunnelling: a GET with `Upgrade: websocket` is forwarded with its handshake fields,
the upstream's 101 comes back with `Upgrade`/`Connection`/`Sec-WebSocket-Accept`, and from then
on bytes flow both ways untouched until either side closes. A refused upgrade (by the upstream
or by a plugin) stays plain HTTP; plain requests on the same route are unaffected; a reload does
not cut an open tunnel; a drain waits for it, up to server.drain_timeout. The echo upstream and
the client are support/websocket.py (RFC 6455, raw sockets)."""
import os
import signal
import time

import pytest

from support.client import assert_error
from support.websocket import (OP_BINARY, OP_CLOSE, OP_PONG, OP_TEXT, WebSocketClient,
                               WebSocketEchoUpstream, accept_for, tokens)

CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
  drain_timeout: 2s
routes:
  - {name: ws, paths: ["/ws/**"], upstream: "$echo"}
  - {name: refused, paths: ["/refused/**"], upstream: "$refusing"}
  - name: denied
    paths: ["/denied/**"]
    upstream: "$denied"
    plugins:
      ip_restriction: {deny: [127.0.0.1/32]}
"""

# For reload and drain tests: `$extra` is more routes (or nothing).
ADMIN_CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
  drain_timeout: $drain
admin: {address: "$admin"}
routes:
  - {name: ws, paths: ["/ws/**"], upstream: "$echo"}
$extra
"""
ADDED_ROUTE = '  - {name: added, paths: ["/added/**"], upstream: "builtin:echo"}'

MIB = 1 << 20


@pytest.fixture(scope="module")
def env(module_stack):
    echo = WebSocketEchoUpstream()
    refusing = WebSocketEchoUpstream(refuse_status=403)
    denied = WebSocketEchoUpstream()
    gw = module_stack.gateway(CONFIG, echo=echo.url, refusing=refusing.url, denied=denied.url)
    yield gw, echo, refusing, denied
    for u in (echo, refusing, denied):
        u.stop()


@pytest.fixture
def fresh(env):
    gw, *ups = env
    for u in ups:
        u.clear()
    yield env
    for u in ups:
        assert u.errors == [], f"the upstream saw broken WebSocket traffic: {u.errors}"


@pytest.fixture
def ws_upstream(stack):
    """ws_upstream(refuse_status=None, plain_status=200): an echo upstream stopped at teardown
    (before the gateways of `stack`)."""
    started = []

    def make(**kwargs) -> WebSocketEchoUpstream:
        u = WebSocketEchoUpstream(**kwargs)
        started.append(u)
        return u

    yield make
    for u in started:
        u.stop()


def open_tunnel(gw, path: str = "/ws/chat", headers=()) -> WebSocketClient:
    """A client connection upgraded through the gateway (101 or an AssertionError)."""
    c = WebSocketClient(gw.port)
    try:
        resp = c.handshake(path, headers=headers)
        assert resp.status == 101, f"no tunnel: {resp!r}"
        assert c.accept_ok(), f"wrong Sec-WebSocket-Accept for key {c.key!r}: {resp!r}"
    except BaseException:
        c.close()
        raise
    return c


def finish(c: WebSocketClient, code: int = 1000) -> None:
    """The close handshake from the client side, then the TCP close both ways."""
    assert c.close_handshake(code) == code
    assert c.at_eof(timeout=3), "connection still open after the close handshake"
    c.close()


# -- the tunnel ------------------------------------------------------------------------------

def test_handshake_through_the_gateway(fresh):
    """101 with Upgrade: websocket, Connection: upgrade and the Accept for the client's own key;
    the upstream got the key, the version, the offered subprotocols and X-Forwarded-For."""
    gw, echo, _, _ = fresh
    with WebSocketClient(gw.port) as c:
        resp = c.handshake("/ws/chat?room=1", headers=[
            ("Origin", "http://app.test"), ("Sec-WebSocket-Protocol", "chat, superchat")])
        assert resp.status == 101, resp
        assert tokens(resp.header("Upgrade")) == ["websocket"], resp
        assert "upgrade" in tokens(", ".join(resp.header_all("Connection"))), resp
        assert resp.header("Sec-WebSocket-Accept") == accept_for(c.key), resp
        assert resp.header("Sec-WebSocket-Protocol") == "chat", resp
        assert resp.header("Content-Length") is None and \
            resp.header("Transfer-Encoding") is None, resp
        assert c.quiet(0.2), f"bytes after the 101 head before any frame: {c.buf!r}"

        [req] = echo.handshakes
        assert (req.method, req.target) == ("GET", "/ws/chat?room=1")
        assert req.header("Sec-WebSocket-Key") == c.key
        assert req.header("Sec-WebSocket-Version") == "13"
        assert tokens(req.header("Upgrade")) == ["websocket"]
        assert "upgrade" in tokens(", ".join(req.header_all("Connection")))
        assert req.header("Sec-WebSocket-Protocol") == "chat, superchat"
        assert req.header("Origin") == "http://app.test"
        xff = req.header("X-Forwarded-For")
        assert xff and xff.split(",")[-1].strip() == "127.0.0.1", req.headers
        assert len(echo.tunnels) == 1
        finish(c)


def test_text_and_binary_messages_are_echoed(fresh):
    """Text (UTF-8) and binary (all 256 byte values) go through unchanged, masked on the way
    up (the upstream insists), unmasked on the way down; a fragmented message arrives whole."""
    gw, echo, _, _ = fresh
    with open_tunnel(gw) as c:
        text = "hello, tunnel ✓ — ünïcödé"
        c.send_text(text)
        assert c.recv() == (OP_TEXT, text.encode())
        every_byte = bytes(range(256))
        assert c.echo(OP_BINARY, every_byte) == every_byte
        assert c.echo(OP_BINARY, b"") == b""
        for n in (125, 126, 65535, 65536):  # the 7-, 16- and 64-bit length encodings
            data = os.urandom(n)
            assert c.echo(OP_BINARY, data) == data, f"{n} bytes"
        c.send_fragments(OP_TEXT, [b"frag", b"men", b"ted"])
        assert c.recv() == (OP_TEXT, b"fragmented")
        [tunnel] = echo.tunnels
        assert [m for _, m in tunnel.messages][:3] == [text.encode(), every_byte, b""]
        finish(c)


def test_one_mib_binary_message_round_trip(fresh):
    """A 1 MiB binary message (64-bit length) comes back byte for byte."""
    gw, echo, _, _ = fresh
    data = os.urandom(MIB)
    with open_tunnel(gw) as c:
        c.send_binary(data)
        op, back = c.recv(timeout=15)
        assert op == OP_BINARY
        assert len(back) == MIB and back == data
        assert echo.tunnels[0].messages[-1] == (OP_BINARY, data)
        assert c.echo(OP_TEXT, b"still framed right") == b"still framed right"
        finish(c)


def test_ping_is_answered_with_pong(fresh):
    """A ping reaches the upstream, whose pong (same payload) comes back; one between the
    fragments of a message too."""
    gw, echo, _, _ = fresh
    with open_tunnel(gw) as c:
        c.send_ping(b"are you there?")
        assert c.recv() == (OP_PONG, b"are you there?")
        c.send_frame(OP_BINARY, b"one", fin=False)
        c.send_ping(b"in between")
        c.send_frame(0x0, b"two")
        assert c.recv() == (OP_PONG, b"in between")
        assert c.recv() == (OP_BINARY, b"onetwo")
        assert echo.tunnels[0].pings == [b"are you there?", b"in between"]
        finish(c)


def test_close_handshake_ends_with_eof(fresh):
    """Close 1000 from the client reaches the upstream, its close 1000 comes back, then the
    connection ends (EOF) on both sides."""
    gw, echo, _, _ = fresh
    with open_tunnel(gw) as c:
        assert c.echo(OP_TEXT, b"bye soon") == b"bye soon"
        c.send_close(1000)
        op, payload = c.recv()
        assert (op, payload[:2]) == (OP_CLOSE, (1000).to_bytes(2, "big")), (op, payload)
        assert c.at_eof(timeout=3), "the gateway kept the connection open after the close"
    [tunnel] = echo.tunnels
    assert echo.wait_ended(tunnel) == "close"
    assert tunnel.close_code == 1000


def test_client_hang_up_closes_the_upstream_side(fresh):
    """A client that drops the TCP connection without a close frame: the gateway closes its
    connection to the upstream too."""
    gw, echo, _, _ = fresh
    c = open_tunnel(gw)
    assert c.echo(OP_TEXT, b"x") == b"x"
    c.close()
    [tunnel] = echo.tunnels
    assert echo.wait_ended(tunnel, timeout=5) == "eof"


def test_two_tunnels_are_independent(fresh):
    """Two tunnels at once each get their own upstream connection and their own echoes."""
    gw, echo, _, _ = fresh
    with open_tunnel(gw, "/ws/a") as a, open_tunnel(gw, "/ws/b") as b:
        a.send_text("to a")
        b.send_text("to b")
        assert b.recv() == (OP_TEXT, b"to b")
        assert a.recv() == (OP_TEXT, b"to a")
        assert len(echo.tunnels) == 2
        finish(a)
        assert b.echo(OP_TEXT, b"b still open") == b"b still open"
        finish(b)


# -- refusals and plain requests -------------------------------------------------------------

def test_upstream_refusal_is_passed_through(fresh):
    """The upstream answers the upgrade with 403: the client gets that 403 and its body, no
    tunnel; the connection stays HTTP (the next request is proxied, with X-Forwarded-For) or
    is closed."""
    gw, _, refusing, _ = fresh
    with WebSocketClient(gw.port) as c:
        resp = c.handshake("/refused/chat")
        assert (resp.status, resp.body) == (403, b"upgrade refused"), resp
        assert resp.header("Sec-WebSocket-Accept") is None, resp
        assert refusing.tunnels == []
        try:
            follow = c.request("GET", "/refused/plain")
        except ConnectionError:  # ClosedError, reset, broken pipe: closed after the refusal
            follow = None
        if follow is not None:
            assert (follow.status, follow.body) == (200, b"not a websocket"), follow
            [plain] = [r for r in refusing.requests if r.path == "/refused/plain"]
            assert plain.header("X-Forwarded-For"), \
                f"the next request went through raw, not proxied: {plain.headers}"
    assert len(refusing.handshakes) == 1


def test_plugin_refusal_never_reaches_the_upstream(fresh):
    """ip_restriction denies 127.0.0.1 on the route: the upgrade request gets the gateway's own
    403 forbidden and the upstream is never contacted."""
    gw, _, _, denied = fresh
    with WebSocketClient(gw.port) as c:
        resp = c.handshake("/denied/chat")
        assert_error(resp, 403, "forbidden")
        assert resp.header("Sec-WebSocket-Accept") is None, resp
        assert "websocket" not in tokens(resp.header("Upgrade")), resp
    time.sleep(0.1)
    assert denied.accepted == 0, "the upstream was contacted"


def test_plain_request_on_the_websocket_route(fresh):
    """A request without Upgrade on the same route is proxied as usual (no Upgrade upstream)."""
    gw, echo, _, _ = fresh
    resp = gw.request("GET", "/ws/chat")
    assert (resp.status, resp.body) == (200, b"not a websocket"), resp
    [req] = echo.requests
    assert req.header("Upgrade") is None and req.header("Sec-WebSocket-Key") is None, req.headers
    assert req.header("X-Forwarded-For")
    assert echo.tunnels == []


def test_keep_alive_connection_can_be_upgraded(fresh):
    """A client connection that already carried a plain request can then be upgraded."""
    gw, echo, _, _ = fresh
    with WebSocketClient(gw.port) as c:
        first = c.request("GET", "/ws/plain")
        assert (first.status, first.body) == (200, b"not a websocket"), first
        resp = c.handshake("/ws/chat")
        assert resp.status == 101 and c.accept_ok(), resp
        assert c.echo(OP_TEXT, b"upgraded later") == b"upgraded later"
        finish(c)
    assert echo.tunnels[-1].requests[-1].path == "/ws/chat"


# -- reload and drain ------------------------------------------------------------------------

@pytest.mark.parametrize("how", ["file", "admin"])
def test_reload_keeps_an_open_tunnel(gateway, ws_upstream, how):
    """A reload (a route added, by rewriting the file or by POST /config) while a tunnel is
    open: the new route answers, the open tunnel still echoes, a new tunnel works."""
    echo = ws_upstream()
    gw = gateway(ADMIN_CONFIG, echo=echo.url, drain="5s", extra="")
    api = gw.admin()
    assert gw.request("GET", "/added/x").status == 404
    with open_tunnel(gw) as c:
        assert c.echo(OP_TEXT, b"before the reload") == b"before the reload"
        if how == "file":
            gw.write_config(extra=ADDED_ROUTE)
        else:
            resp = api.post("/config", gw.config_text(gw.port, extra=ADDED_ROUTE))
            assert resp.status == 200, resp
        api.wait_generation(2)
        assert gw.request("GET", "/added/x").status == 200

        assert c.echo(OP_TEXT, b"after the reload") == b"after the reload"
        data = bytes(range(256)) * 64
        assert c.echo(OP_BINARY, data) == data
        with open_tunnel(gw, "/ws/new") as c2:
            assert c2.echo(OP_TEXT, b"new tunnel") == b"new tunnel"
            finish(c2)
        assert c.echo(OP_TEXT, b"old tunnel again") == b"old tunnel again"
        finish(c)
    assert echo.accepted == 2, "the open tunnel was reconnected to the upstream"
    assert echo.errors == []


def test_drain_waits_for_an_open_tunnel(gateway, ws_upstream):
    """SIGTERM with a tunnel open: the tunnel keeps working and the gateway keeps running;
    once the tunnel is closed, the gateway exits 0 (long before drain_timeout)."""
    echo = ws_upstream()
    gw = gateway(ADMIN_CONFIG, echo=echo.url, drain="10s", extra="")
    with open_tunnel(gw) as c:
        assert c.echo(OP_TEXT, b"before SIGTERM") == b"before SIGTERM"
        gw.send_signal(signal.SIGTERM)
        assert c.echo(OP_TEXT, b"right after SIGTERM") == b"right after SIGTERM"
        time.sleep(0.5)
        assert gw.alive(), "the gateway exited with a tunnel open"
        assert c.echo(OP_BINARY, bytes(range(256))) == bytes(range(256))
        finish(c)
        closed = time.monotonic()
        code = gw.wait(timeout=5)
        assert code == 0, f"exit {code} after the tunnel closed\n{gw.logs()}"
        assert time.monotonic() - closed < 3.0
    assert echo.errors == []


def test_drain_timeout_closes_a_tunnel_left_open(gateway, ws_upstream):
    """SIGTERM with a tunnel that stays open: the gateway exits 0 once drain_timeout (1s) has
    passed, and the tunnel is closed on both sides."""
    echo = ws_upstream()
    gw = gateway(ADMIN_CONFIG, echo=echo.url, drain="1s", extra="")
    with open_tunnel(gw) as c:
        assert c.echo(OP_TEXT, b"still here") == b"still here"
        sent = time.monotonic()
        gw.send_signal(signal.SIGTERM)
        code = gw.wait(timeout=6)
        took = time.monotonic() - sent
        assert code == 0, f"exit {code}\n{gw.logs()}"
        assert 0.8 <= took < 3.0, f"exited {took:.2f}s after SIGTERM with drain_timeout 1s"
        assert c.at_eof(timeout=2), "the client side of the tunnel is still open"
    [tunnel] = echo.tunnels
    assert echo.wait_ended(tunnel, timeout=3) == "eof"


# -- idle timeout and the access log ---------------------------------------------------------

IDLE_CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
upstreams:
  quiet: {targets: ["$echo"], timeouts: {idle: 1s}}
routes:
  - {name: ws, paths: ["/ws/**"], upstream: quiet, timeout: 300ms}
"""


def test_idle_tunnel_is_closed_after_the_groups_idle_timeout(gateway, ws_upstream):
    """timeouts.idle 1s: a tunnel with traffic every 0.5s outlives both the route timeout
    (300ms) and the idle timeout; once silent, it is closed on both sides about 1s later."""
    echo = ws_upstream()
    gw = gateway(IDLE_CONFIG, echo=f"127.0.0.1:{echo.port}")
    with open_tunnel(gw) as c:
        for i in range(4):
            time.sleep(0.5)
            assert c.echo(OP_TEXT, b"tick %d" % i) == b"tick %d" % i
        quiet_from = time.monotonic()
        assert c.at_eof(timeout=4), "an idle tunnel was still open 4s after its last byte"
        took = time.monotonic() - quiet_from
        assert 0.8 <= took < 2.5, f"closed {took:.2f}s after the last byte with idle 1s"
    [tunnel] = echo.tunnels
    assert echo.wait_ended(tunnel, timeout=3) == "eof"


def test_access_log_line_when_the_tunnel_ends(fresh):
    """One access log line per tunnel, written when it ends (not at the 101): status 101, the
    route, and bytes_out counting the frames that went to the client."""
    gw, echo, _, _ = fresh
    c = open_tunnel(gw)
    request_id = c.response.header("X-Request-Id")
    assert request_id, c.response
    payload = b"z" * 5000
    assert c.echo(OP_BINARY, payload) == payload
    time.sleep(0.3)
    assert not [line for line in gw.access_lines() if line.get("request_id") == request_id], \
        "the access log line was written while the tunnel was open"
    finish(c)
    line = gw.wait_access_log([request_id])[request_id]
    assert (line["status"], line["route"], line["method"]) == (101, "ws", "GET"), line
    assert line["bytes_out"] >= len(payload), line
