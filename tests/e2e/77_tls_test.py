"""TLS termination on a listener (SPEC §2): certificates chosen by SNI, HTTP/1.1 over TLS to
builtin:echo, protocol versions and TLS 1.2 suites (ECDHE + AEAD only), ALPN, session tickets
that survive a reload, certificate files reloaded when they change, certificate errors reported
by path, and connections that never speak TLS.

Certificates are made at test time (support/certs.py). Clients are Python's ssl module, a raw
ClientHello written here byte by byte (for suites and versions the local OpenSSL no longer
offers: the server's answer, ServerHello or alert, is read back exactly), and `openssl s_client`.
"""
import os
import socket
import ssl
import subprocess
import time
import warnings

import pytest

from support.certs import TestCA, new_key, peer_info
from support.client import Conn, wait_until
from support.gateway import free_port, render, run_cli

# -- helpers -----------------------------------------------------------------------------------

ECHO_ROUTE = """
routes:
  - {name: e, paths: ["/**"], upstream: "builtin:echo"}
"""


def tls_config(*leaves, min_version=None, alpn=None, limits=None, admin=False,
               extra_routes="") -> str:
    """A gateway config (with `$listen`) whose one listener terminates TLS with `leaves`."""
    text = "server:\n  listeners:\n    - name: secure\n      address: \"$listen\"\n"
    text += "      tls:\n        certificates:\n"
    for leaf in leaves:
        text += f"          - {leaf.config() if hasattr(leaf, 'config') else leaf}\n"
    if min_version is not None:
        text += f'        min_version: "{min_version}"\n'
    if alpn is not None:
        text += f"        alpn: [{', '.join(alpn)}]\n"
    if limits:
        text += f"  limits: {limits}\n"
    if admin:
        text += 'admin: {address: "$admin"}\n'
    return text + ECHO_ROUTE.strip("\n") + "\n" + extra_routes


class TlsConn(Conn):
    """support.client.Conn over TLS: the handshake happens here (and raises ssl.SSLError)."""

    def __init__(self, port: int, context: ssl.SSLContext, server_name=None, session=None,
                 timeout: float = 5.0):
        raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        try:
            self.sock = context.wrap_socket(raw, server_hostname=server_name, session=session)
        except BaseException:
            raw.close()
            raise
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def readable(self, timeout: float = 0.0) -> bool:
        return bool(self.sock.pending()) or super().readable(timeout)

    @property
    def peer(self):
        return peer_info(self.sock)


def handshake_error(port: int, context: ssl.SSLContext, server_name=None) -> str:
    """The text of the ssl.SSLError a handshake ends with; fails when it succeeds."""
    try:
        with TlsConn(port, context, server_name=server_name) as c:
            got = f"{c.sock.version()} {c.sock.cipher()}"
    except ssl.SSLError as e:
        return str(e)
    except ConnectionError as e:  # reset or closed without an alert: say so in the failure
        return f"{type(e).__name__}: {e}"
    pytest.fail(f"the handshake succeeded ({got}); it should have been refused")


def legacy_context(ca, version: ssl.TLSVersion, ciphers: str = "ALL:@SECLEVEL=0"):
    """A client that offers only `version` (TLS 1.0/1.1 need security level 0 on OpenSSL 3)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # ssl.TLSVersion.TLSv1/TLSv1_1
        return ca.client_context(minimum=version, maximum=version, ciphers=ciphers)


# A ClientHello by hand: TLS 1.2 (or older) offering exactly the given suites, with what a real
# client sends besides (SNI, groups, point formats, signature algorithms, renegotiation_info), so
# that a refusal can only be about the suites or the version.

ALERTS = {10: "unexpected_message", 40: "handshake_failure", 47: "illegal_parameter",
          50: "decode_error", 70: "protocol_version", 71: "insufficient_security",
          80: "internal_error", 86: "inappropriate_fallback", 112: "unrecognized_name"}
VERSIONS = {0x0300: "SSLv3", 0x0301: "TLS 1.0", 0x0302: "TLS 1.1", 0x0303: "TLS 1.2"}


def _u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def _ext(kind: int, data: bytes) -> bytes:
    return _u16(kind) + _u16(len(data)) + data


def client_hello(suites, version: int = 0x0303, server_name=None) -> bytes:
    exts = b""
    if server_name:
        name = server_name.encode()
        entry = b"\x00" + _u16(len(name)) + name
        exts += _ext(0x0000, _u16(len(entry)) + entry)
    groups = [0x001d, 0x0017, 0x0018]  # x25519, P-256, P-384
    exts += _ext(0x000a, _u16(2 * len(groups)) + b"".join(map(_u16, groups)))
    exts += _ext(0x000b, b"\x01\x00")  # uncompressed points
    sigalgs = [0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501, 0x0201, 0x0203]
    exts += _ext(0x000d, _u16(2 * len(sigalgs)) + b"".join(map(_u16, sigalgs)))
    exts += _ext(0xff01, b"\x00")  # renegotiation_info (initial)
    body = (_u16(version) + os.urandom(32) + b"\x00" + _u16(2 * len(suites))
            + b"".join(map(_u16, suites)) + b"\x01\x00" + _u16(len(exts)) + exts)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16" + _u16(min(version, 0x0301)) + _u16(len(handshake)) + handshake


def server_answer(port: int, hello: bytes, timeout: float = 3.0):
    """The server's first record after `hello`: ("alert", level, description),
    ("server_hello", version, suite), ("closed", bytes so far) or ("other", first bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(hello)
        buf = b""
        deadline = time.monotonic() + timeout
        while len(buf) < 5 or len(buf) < 5 + int.from_bytes(buf[3:5], "big"):
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            except socket.timeout:
                raise AssertionError(f"no complete TLS record within {timeout}s; got {buf!r}")
            if not data:
                return ("closed", buf)
            buf += data
    kind, payload = buf[0], buf[5:5 + int.from_bytes(buf[3:5], "big")]
    if kind == 0x15 and len(payload) >= 2:
        return ("alert", payload[0], payload[1])
    if kind == 0x16 and payload[:1] == b"\x02":
        sid = payload[38]
        return ("server_hello", int.from_bytes(payload[4:6], "big"),
                int.from_bytes(payload[39 + sid:41 + sid], "big"))
    return ("other", buf[:40])


def describe(answer) -> str:
    if answer[0] == "alert":
        return f"fatal={answer[1] == 2} alert {ALERTS.get(answer[2], answer[2])}"
    if answer[0] == "server_hello":
        return (f"ServerHello {VERSIONS.get(answer[1], hex(answer[1]))} "
                f"suite 0x{answer[2]:04X}")
    return repr(answer)


def read_until_closed(sock: socket.socket, timeout: float):
    """(bytes received, seconds until EOF or reset); the seconds are None when still open."""
    start = time.monotonic()
    got = b""
    while True:
        remaining = start + timeout - time.monotonic()
        if remaining <= 0:
            return got, None
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return got, time.monotonic() - start
        except socket.timeout:
            return got, None
        if not data:
            return got, time.monotonic() - start
        got += data


# -- the shared gateway ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A CA and four leaves: the first (default) RSA, an exact name and a wildcard EC, and an
    exact name under the wildcard, listed after it."""
    ca = TestCA(tmp_path_factory.mktemp("pki"))
    leaves = {
        "default": ca.issue("default", ["default.test"], key_type="rsa"),
        "exact": ca.issue("exact", ["exact.test"], key_type="ec"),
        "wild": ca.issue("wild", ["*.wild.test"], key_type="ec"),
        "a_wild": ca.issue("a-wild", ["a.wild.test"], key_type="rsa"),
    }
    return ca, leaves


@pytest.fixture(scope="module")
def secure(module_stack, pki):
    """One gateway for the read-only tests: min_version and ALPN left to their defaults."""
    ca, leaves = pki
    gw = module_stack.gateway(tls_config(leaves["default"], leaves["exact"], leaves["wild"],
                                         leaves["a_wild"]))
    return gw, ca, leaves


# -- certificate selection ---------------------------------------------------------------------

@pytest.mark.parametrize("server_name, expected", [
    ("exact.test", "exact"),
    ("EXACT.Test", "exact"),           # names compare case-insensitively
    ("b.wild.test", "wild"),
    ("a.wild.test", "a_wild"),         # an exact name beats a wildcard listed before it
    ("deep.b.wild.test", "default"),   # *.wild.test covers one label only
    ("wild.test", "default"),          # ... and not the bare domain
    ("unknown.test", "default"),
    (None, "default"),                 # no SNI at all
])
def test_certificate_chosen_by_sni(secure, server_name, expected):
    """The certificate presented for an SNI name: exact, then wildcard, else the first one
    (serial and SAN compared); a request on that connection is answered."""
    gw, ca, leaves = secure
    with TlsConn(gw.port, ca.client_context(), server_name=server_name) as c:
        got = c.peer
        by_serial = {leaf.serial: name for name, leaf in leaves.items()}
        want = leaves[expected]
        assert got.serial == want.serial, (
            f"SNI {server_name!r}: got certificate {by_serial.get(got.serial, got.serial)!r} "
            f"(SAN {got.names}), expected {expected!r} (SAN {want.names})")
        assert got.names == want.names
        assert c.request("GET", "/sni").status == 200


# -- HTTP over TLS -----------------------------------------------------------------------------

def test_https_request_to_echo(secure):
    """GET over TLS reaches builtin:echo: 200 over HTTP/1.1 with the request as echoed JSON."""
    gw, ca, _ = secure
    with TlsConn(gw.port, ca.client_context(), server_name="exact.test") as c:
        resp = c.request("GET", "/hello/world?x=1", host="exact.test")
    assert resp.status == 200, resp
    assert resp.version == "HTTP/1.1", resp
    assert resp.framing == "length", resp
    assert (resp.header("Content-Type") or "").startswith("application/json"), resp
    doc = resp.json()
    assert (doc["method"], doc["path"], doc["query"], doc["http_version"], doc["host"],
            doc["route"], doc["body_bytes"]) == ("GET", "/hello/world", "x=1", "1.1",
                                                 "exact.test", "e", 0), doc
    assert doc["request_id"] == resp.header("X-Request-Id"), resp


def test_keep_alive_carries_several_requests(secure):
    """Five requests on one TLS connection, each answered 200 with its own request id, and the
    connection stays open (one handshake)."""
    gw, ca, _ = secure
    ids = []
    with TlsConn(gw.port, ca.client_context()) as c:
        for i in range(5):
            resp = c.request("GET", f"/ka/{i}")
            assert resp.status == 200, f"request {i} on the kept-alive connection: {resp!r}"
            assert resp.json()["path"] == f"/ka/{i}"
            assert (resp.header("Connection") or "").lower() != "close", resp
            ids.append(resp.header("X-Request-Id"))
        assert not c.readable(0.05), f"unexpected bytes after the responses: {c.recv_some()!r}"
    assert len(set(ids)) == 5, ids


def test_post_1mib_body_is_echoed(secure):
    """A 1 MiB POST over TLS: echo counts all 1048576 bytes and returns the first 64 KiB
    exactly (its documented echo window); the connection then carries another request."""
    gw, ca, _ = secure
    body = b"".join(b"%07d\n" % i for i in range(131072))  # 8 bytes a line, every line distinct
    assert len(body) == 1 << 20
    with TlsConn(gw.port, ca.client_context(), timeout=10) as c:
        resp = c.request("POST", "/upload", body=body,
                         headers=[("Content-Type", "text/plain")], timeout=10)
        assert resp.status == 200, resp
        doc = resp.json()
        assert doc["body_bytes"] == len(body), f"echo counted {doc['body_bytes']} bytes"
        # The request as echo saw it, after the body went through the connection's buffers.
        got = {k: doc[k] for k in ("method", "path", "host", "route")}
        assert got == {"method": "POST", "path": "/upload", "host": "test.local",
                       "route": "e"}, f"echo reported the request as {got}"
        echoed = doc["body"].encode()
        first_diff = next((i for i, (a, b) in enumerate(zip(echoed, body)) if a != b), None)
        assert echoed == body[:64 * 1024], (
            f"echoed body differs from the first 64 KiB sent: {len(echoed)} bytes, first "
            f"difference at {first_diff}")
        after = c.request("GET", "/after")
        assert after.status == 200 and after.json()["path"] == "/after", after


def test_upstream_is_told_the_client_used_https(secure):
    """X-Forwarded-Proto, as builtin:echo received it, is "https" on a TLS listener (the client
    sent none; the gateway itself terminated TLS)."""
    gw, ca, _ = secure
    with TlsConn(gw.port, ca.client_context()) as c:
        doc = c.request("GET", "/proto").json()
    assert doc["headers"].get("x-forwarded-proto") == "https", (
        f"upstream saw X-Forwarded-Proto {doc['headers'].get('x-forwarded-proto')!r} for a "
        f"request that arrived over TLS: {doc['headers']}")


# -- protocol versions -------------------------------------------------------------------------

def test_tls11_client_gets_protocol_version_alert(secure):
    """min_version 1.2 (the default): a TLS 1.1-only client is refused by the server's
    protocol_version alert (not by its own library refusing to send)."""
    gw, ca, _ = secure
    error = handshake_error(gw.port, legacy_context(ca, ssl.TLSVersion.TLSv1_1))
    if "no protocols available" in error.lower():
        pytest.skip(f"the local OpenSSL does not offer TLS 1.1 ({error})")
    assert "alert protocol version" in error.lower(), (
        f"expected the server's protocol_version alert, got: {error}")
    assert gw.alive()


# OpenSSL 3 (built without SSLv3) answers an SSLv3 ClientHello with handshake_failure rather
# than protocol_version; `openssl s_server -min_protocol TLSv1.2` does the same.
@pytest.mark.parametrize("version, name, alerts", [(0x0300, "SSLv3", (40, 70)),
                                                   (0x0301, "TLS 1.0", (70,)),
                                                   (0x0302, "TLS 1.1", (70,))])
def test_old_versions_refused_raw(secure, version, name, alerts):
    """A hand-made ClientHello for SSLv3 / TLS 1.0 / TLS 1.1 (an AES-GCM and a CBC suite
    offered): the answer is a fatal alert (protocol_version for TLS 1.0/1.1), no ServerHello."""
    gw, _, _ = secure
    answer = server_answer(gw.port, client_hello([0xC02F, 0xC013, 0x002F], version=version))
    assert answer[0] == "alert" and answer[1] == 2 and answer[2] in alerts, (
        f"{name} ClientHello answered with {describe(answer)}, expected a fatal "
        f"{' or '.join(ALERTS[a] for a in alerts)} alert")


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls12_and_tls13_clients_work(secure, version):
    """Clients pinned to TLS 1.2 and to TLS 1.3 both connect (with that version) and get 200."""
    gw, ca, _ = secure
    ctx = ca.client_context(minimum=version, maximum=version)
    with TlsConn(gw.port, ctx) as c:
        expected = {ssl.TLSVersion.TLSv1_2: "TLSv1.2", ssl.TLSVersion.TLSv1_3: "TLSv1.3"}[version]
        assert c.sock.version() == expected
        assert c.request("GET", "/v").status == 200


def test_min_version_13_refuses_tls12(gateway, pki):
    """min_version "1.3": a TLS 1.2-only client gets the protocol_version alert; TLS 1.3 works."""
    ca, leaves = pki
    gw = gateway(tls_config(leaves["default"], min_version="1.3"))
    ctx12 = ca.client_context(maximum=ssl.TLSVersion.TLSv1_2)
    error = handshake_error(gw.port, ctx12)
    assert "alert protocol version" in error.lower(), (
        f"expected the server's protocol_version alert, got: {error}")
    answer = server_answer(gw.port, client_hello([0xC02F, 0xC030]))
    assert answer == ("alert", 2, 70), f"TLS 1.2 ClientHello answered with {describe(answer)}"
    with TlsConn(gw.port, ca.client_context()) as c:
        assert c.sock.version() == "TLSv1.3"
        assert c.request("GET", "/v13").status == 200


@pytest.mark.parametrize("flag", ["-ssl3", "-tls1"])
def test_openssl_s_client_old_protocols_refused(secure, flag):
    """`openssl s_client -ssl3` / `-tls1` fail with the server's protocol_version alert (skipped
    when the local openssl cannot offer that version)."""
    gw, ca, _ = secure
    r = subprocess.run(["openssl", "s_client", flag, "-cipher", "ALL:@SECLEVEL=0",
                        "-connect", f"127.0.0.1:{gw.port}", "-servername", "default.test",
                        "-CAfile", str(ca.cert_path)],
                       input="", capture_output=True, text=True, timeout=10)
    out = r.stdout + r.stderr
    if "unknown option" in out.lower() or "no protocols available" in out.lower():
        pytest.skip(f"the local openssl cannot offer {flag}: {out.strip().splitlines()[0]}")
    assert r.returncode != 0, f"s_client {flag} connected:\n{out}"
    assert "alert protocol version" in out.lower(), (
        f"s_client {flag} failed otherwise than by the server's protocol_version alert:\n{out}")


# -- TLS 1.2 suites ----------------------------------------------------------------------------

# (family, OpenSSL names for Python's client, IANA codes for the raw ClientHello, SNI).
WEAK_SUITES = [
    ("3DES", "DES-CBC3-SHA:ECDHE-RSA-DES-CBC3-SHA", [0x000A, 0xC012], None),
    ("RC4", "RC4-SHA:RC4-MD5:ECDHE-RSA-RC4-SHA", [0x0005, 0x0004, 0xC011], None),
    ("NULL", "NULL-SHA256:NULL-SHA:ECDHE-RSA-NULL-SHA", [0x003B, 0x0002, 0xC010], None),
    ("export", "EXP-RC4-MD5:EXP-DES-CBC-SHA:EXP-RC2-CBC-MD5:EXP-EDH-RSA-DES-CBC-SHA",
     [0x0003, 0x0008, 0x0006, 0x0014], None),
    ("AES-CBC", "ECDHE-RSA-AES128-SHA", [0xC013], None),
    ("AES-CBC-more", "ECDHE-RSA-AES256-SHA:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384",
     [0xC014, 0xC027, 0xC028], None),
    ("ECDSA-AES-CBC", "ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA", [0xC009, 0xC00A],
     "exact.test"),
    ("RSA-key-exchange", "AES128-GCM-SHA256:AES256-GCM-SHA384:AES128-SHA", [0x009C, 0x009D,
                                                                            0x002F], None),
    ("DHE", "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-CHACHA20-POLY1305", [0x009E, 0xCCAA], None),
]
GOOD_SUITES = [
    ("ECDHE-RSA-AES128-GCM-SHA256", 0xC02F, None),
    ("ECDHE-RSA-AES256-GCM-SHA384", 0xC030, None),
    ("ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8, None),
    ("ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B, "exact.test"),
    ("ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C, "exact.test"),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9, "exact.test"),
]


@pytest.mark.parametrize("name, code, sni", GOOD_SUITES, ids=[s[0] for s in GOOD_SUITES])
def test_tls12_aead_suites_accepted(secure, name, code, sni):
    """Control for the refusals below: each ECDHE + AES-GCM/CHACHA20 suite, offered alone in the
    hand-made ClientHello, gets a TLS 1.2 ServerHello choosing it; Python's client agrees."""
    gw, ca, _ = secure
    answer = server_answer(gw.port, client_hello([code], server_name=sni))
    assert answer == ("server_hello", 0x0303, code), f"{name} answered with {describe(answer)}"
    ctx = ca.client_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers=name)
    with TlsConn(gw.port, ctx, server_name=sni) as c:
        assert c.sock.cipher()[0] == name
        assert c.request("GET", "/suite").status == 200


@pytest.mark.parametrize("family, names, codes, sni", WEAK_SUITES, ids=[s[0] for s in WEAK_SUITES])
def test_weak_suites_refused_raw(secure, family, names, codes, sni):
    """A TLS 1.2 ClientHello offering only this family's suites gets a fatal alert
    (handshake_failure, or insufficient_security), never a ServerHello."""
    gw, _, _ = secure
    answer = server_answer(gw.port, client_hello(codes, server_name=sni))
    offered = ", ".join(f"0x{c:04X}" for c in codes)
    assert answer[0] == "alert" and answer[1] == 2 and answer[2] in (40, 71), (
        f"{family} ({offered}) answered with {describe(answer)}")
    assert gw.alive()


@pytest.mark.parametrize("family, names, codes, sni", WEAK_SUITES, ids=[s[0] for s in WEAK_SUITES])
def test_weak_suites_refused_openssl_client(secure, family, names, codes, sni):
    """The same with Python's client (TLS 1.2 at most, security level 0): the handshake fails on
    the server's handshake_failure alert. Skipped for families the local OpenSSL cannot offer
    (the raw test above covers those)."""
    gw, ca, _ = secure
    try:
        ctx = ca.client_context(maximum=ssl.TLSVersion.TLSv1_2, ciphers=f"{names}:@SECLEVEL=0")
    except ssl.SSLError as e:
        pytest.skip(f"the local {ssl.OPENSSL_VERSION} cannot offer {family} ({names}): {e}")
    offered = [c["name"] for c in ctx.get_ciphers() if c["protocol"] != "TLSv1.3"]
    error = handshake_error(gw.port, ctx, server_name=sni)
    assert "alert handshake failure" in error.lower() or \
        "alert insufficient security" in error.lower(), (
            f"{family} (offered {offered}): expected the server's handshake_failure alert, "
            f"got: {error}")


# -- ALPN --------------------------------------------------------------------------------------

@pytest.mark.parametrize("offered, selected", [
    (["h2", "http/1.1"], "http/1.1"),
    (["http/1.1"], "http/1.1"),
    (["h2"], None),       # nothing in common: no ALPN, the handshake still succeeds
    (None, None),         # no ALPN extension
])
def test_alpn(secure, offered, selected):
    """ALPN selects http/1.1 when the client offers it, none otherwise; requests work either
    way."""
    gw, ca, _ = secure
    with TlsConn(gw.port, ca.client_context(alpn=offered)) as c:
        assert c.sock.selected_alpn_protocol() == selected, (
            f"offered {offered}: selected {c.sock.selected_alpn_protocol()!r}")
        resp = c.request("GET", "/alpn")
        assert resp.status == 200 and resp.version == "HTTP/1.1", resp


# -- session resumption ------------------------------------------------------------------------

@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2],
                         ids=["TLSv1.3", "TLSv1.2"])
def test_session_ticket_resumes_across_reload(gateway, pki, version):
    """A second connection offering the first one's ticket is resumed; after a reload (a route
    added to the file) a ticket from before still resumes (process-wide ticket keys)."""
    ca, leaves = pki
    config = tls_config(leaves["default"], admin=True)
    gw = gateway(config)
    api = gw.admin()
    ctx = ca.client_context(minimum=version, maximum=version)

    def connect(session=None):
        c = TlsConn(gw.port, ctx, session=session)
        resp = c.request("GET", "/resume")  # reading also takes in TLS 1.3's NewSessionTicket
        assert resp.status == 200, resp
        return c

    with connect() as first:
        assert not first.sock.session_reused
        session = first.sock.session
        assert session is not None and session.has_ticket, \
            f"no session ticket from the server ({first.sock.version()})"
    with connect(session) as second:
        assert second.sock.session_reused, f"{second.sock.version()}: the ticket was not used"
        assert second.peer.serial == leaves["default"].serial
        session = second.sock.session

    gw.write_config(config + '  - {name: added, paths: ["/added/**"], '
                             'upstream: "builtin:echo"}\n')
    api.wait_generation(2)
    # The reload took: the new route is served over TLS.
    with TlsConn(gw.port, ctx) as probe:
        assert probe.request("GET", "/added/x").json()["route"] == "added"
    with connect(session) as third:
        assert third.sock.session_reused, (
            f"{third.sock.version()}: a ticket issued before the reload was not accepted after it")


# -- certificate files changing ----------------------------------------------------------------

def test_replaced_certificate_is_served_to_new_connections(gateway, pki, tmp_path):
    """The key and certificate files replaced (rename over them, new serial): new connections get
    the new certificate within 1.5 s; a keep-alive connection opened before still works."""
    ca, _ = pki
    site = tmp_path / "site"
    site.mkdir()
    old = ca.issue("site", ["site.test"], key_type="ec", directory=site)
    gw = gateway(tls_config(old, admin=True))
    api = gw.admin()
    ctx = ca.client_context()

    kept = TlsConn(gw.port, ctx, server_name="site.test")
    try:
        assert kept.peer.serial == old.serial
        assert kept.request("GET", "/before").status == 200
        time.sleep(0.3)  # the watcher is armed a moment after start-up (support/gateway.py)

        key = new_key("rsa")  # made beforehand: the clock starts when the files are in place
        new = ca.issue("site", ["site.test"], key=key, directory=site)  # key, then cert renamed
        start = time.monotonic()
        assert new.serial != old.serial

        def served():
            with TlsConn(gw.port, ctx, server_name="site.test") as c:
                return c.peer.serial == new.serial
        try:
            wait_until(served, timeout=1.5, interval=0.05, what="the new certificate")
        except AssertionError:
            with TlsConn(gw.port, ctx, server_name="site.test") as c:
                got = c.peer.serial
            pytest.fail(f"1.5 s after the files were replaced new connections still get serial "
                        f"{got} (old {old.serial}, new {new.serial}); reloads (ok, failed) = "
                        f"{api.reloads()}")
        took = time.monotonic() - start
        with TlsConn(gw.port, ctx, server_name="site.test") as c:
            assert c.peer.key_type == "rsa"
            assert c.request("GET", "/new").status == 200

        resp = kept.request("GET", "/after")
        assert resp.status == 200, f"the connection opened before the change: {resp!r}"
        assert resp.json()["path"] == "/after"
        assert kept.peer.serial == old.serial
    finally:
        kept.close()
    print(f"\nnew certificate served {took * 1000:.0f} ms after the files were replaced; "
          f"reloads (ok, failed) = {api.reloads()}")


@pytest.mark.parametrize("breakage", ["missing file in the config", "file replaced by garbage",
                                      "key file replaced by another key"])
def test_reload_with_broken_certificate_keeps_the_old_one(gateway, pki, tmp_path, breakage):
    """A reload whose certificate cannot be loaded is rejected (counted as failed, logged with
    its path); the running certificate is still served."""
    ca, _ = pki
    site = tmp_path / "site"
    site.mkdir()
    leaf = ca.issue("site", ["site.test"], directory=site)
    config = tls_config(leaf, admin=True)
    gw = gateway(config)
    api = gw.admin()
    time.sleep(0.3)  # let the watcher arm

    if breakage == "missing file in the config":
        gw.write_config(config.replace(str(leaf.cert), str(site / "nope.crt"))
                        + '  - {name: added, paths: ["/added/**"], upstream: "builtin:echo"}\n')
    elif breakage == "file replaced by garbage":
        tmp = site / ".garbage"
        tmp.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                       "-----END CERTIFICATE-----\n")
        os.replace(tmp, leaf.cert)
    else:
        other = ca.issue("other", ["other.test"], directory=tmp_path)
        tmp = site / ".otherkey"
        tmp.write_bytes(other.key.read_bytes())
        os.chmod(tmp, 0o600)
        os.replace(tmp, leaf.key)
    api.wait_reloads(0, 1)

    with TlsConn(gw.port, ca.client_context(), server_name="site.test") as c:
        assert c.peer.serial == leaf.serial
        resp = c.request("GET", "/added/x")
        assert resp.status == 200 and resp.json()["route"] == "e", \
            f"the rejected configuration was (partly) applied: {resp!r}"
    assert api.generation() == 1
    assert "server.listeners[0].tls.certificates[0]" in gw.stderr_path.read_text(), gw.logs()


# -- configuration errors ----------------------------------------------------------------------

@pytest.mark.parametrize("case", ["missing cert", "missing key", "key not matching",
                                  "second certificate"])
def test_validate_reports_unusable_certificate(pki, tmp_path, case):
    """`turnpike validate` exits non-zero naming server.listeners[0].tls.certificates[M] (M the
    broken entry) and the file."""
    ca, leaves = pki
    good = leaves["default"]
    other = leaves["exact"]
    index = 0
    if case == "missing cert":
        entries = [f'{{cert: "{tmp_path}/missing.crt", key: "{good.key}"}}']
        culprit = "missing.crt"
    elif case == "missing key":
        entries = [f'{{cert: "{good.cert}", key: "{tmp_path}/missing.key"}}']
        culprit = "missing.key"
    elif case == "key not matching":
        entries, culprit = [f'{{cert: "{good.cert}", key: "{other.key}"}}'], str(other.key)
    else:
        index = 1
        entries = [good.config(), f'{{cert: "{other.cert}", key: "{good.key}"}}']
        culprit = str(good.key)
    path = tmp_path / "tls.yaml"
    path.write_text(render(tls_config(*entries), listen=f"127.0.0.1:{free_port()}"))
    r = run_cli("validate", "--config", str(path))
    assert r.returncode != 0, f"validate accepted it:\n{r.stdout}{r.stderr}"
    assert "config OK" not in r.stdout
    where = f"server.listeners[0].tls.certificates[{index}]"
    lines = [line for line in r.stderr.splitlines() if line.startswith(where)]
    assert lines, f"no error for {where}:\n{r.stderr}"
    assert culprit in lines[0], f"the error does not name {culprit}: {lines[0]}"
    if index == 1:
        assert "certificates[0]" not in r.stderr, r.stderr


def test_validate_accepts_good_tls(pki, tmp_path):
    """Control: the same listener with matching files validates."""
    ca, leaves = pki
    path = tmp_path / "tls.yaml"
    path.write_text(render(tls_config(leaves["default"], leaves["wild"], min_version="1.3",
                                      alpn=["http/1.1"]), listen="127.0.0.1:18443"))
    r = run_cli("validate", "--config", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "config OK"


def test_validate_rejects_h2_alpn(pki, tmp_path):
    """alpn: [h2] is a config error at server.listeners[0].tls.alpn."""
    ca, leaves = pki
    path = tmp_path / "tls.yaml"
    path.write_text(render(tls_config(leaves["default"], alpn=["h2"]),
                           listen="127.0.0.1:18443"))
    r = run_cli("validate", "--config", str(path))
    assert r.returncode != 0, f"validate accepted alpn [h2]:\n{r.stdout}{r.stderr}"
    assert "server.listeners[0].tls.alpn" in r.stderr and "h2" in r.stderr, r.stderr


# -- connections that do not speak TLS ---------------------------------------------------------

def test_plain_http_to_tls_port_is_closed(secure):
    """Plain HTTP on the TLS port: the connection is closed with no HTTP answer (at most a TLS
    alert); the gateway then still serves TLS."""
    gw, ca, _ = secure
    with socket.create_connection(("127.0.0.1", gw.port), timeout=3) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: test.local\r\n\r\n")
        got, closed_after = read_until_closed(s, timeout=3)
    assert closed_after is not None, f"still open after 3 s; received {got!r}"
    assert not got.startswith(b"HTTP/"), f"answered in plain HTTP: {got[:200]!r}"
    assert got == b"" or got[:1] == b"\x15", f"neither nothing nor a TLS alert: {got[:50]!r}"
    assert gw.alive()
    with TlsConn(gw.port, ca.client_context()) as c:
        assert c.request("GET", "/still").status == 200


def test_silent_client_closed_after_header_timeout(gateway, pki):
    """header_timeout 1s: a client that connects and sends nothing, and one that stops halfway
    through its ClientHello, are both closed after about 1 s (not before 0.8 s, by 2.5 s)."""
    ca, leaves = pki
    gw = gateway(tls_config(leaves["default"], limits="{header_timeout: 1s}"))
    hello = client_hello([0xC02F])
    silent = socket.create_connection(("127.0.0.1", gw.port))
    partial = socket.create_connection(("127.0.0.1", gw.port))
    try:
        partial.sendall(hello[:20])
        results = {}
        start = time.monotonic()
        for name, sock in (("silent", silent), ("partial ClientHello", partial)):
            got, _ = read_until_closed(sock, timeout=2.5 - (time.monotonic() - start))
            results[name] = (got, time.monotonic() - start)
    finally:
        silent.close()
        partial.close()
    for name, (got, after) in results.items():
        assert after < 2.5, f"{name} client still open after {after:.2f}s"
        assert after >= 0.8, f"{name} client closed after only {after:.2f}s (timeout is 1s)"
        assert not got.startswith(b"HTTP/"), f"{name}: answered in plain HTTP: {got[:200]!r}"
    with TlsConn(gw.port, ca.client_context()) as c:
        assert c.request("GET", "/after-timeouts").status == 200
    print("\nclosed after: " + ", ".join(f"{n} {a:.2f}s" for n, (_, a) in results.items()))
