"""A minimal RFC 6455 WebSocket for the e2e tests: an echo upstream and a client, both on raw
sockets with deadlines (no third-party library).

    with WebSocketEchoUpstream() as up:                 # ws echo server on 127.0.0.1:<free port>
        c = WebSocketClient(gw.port)
        resp = c.handshake("/ws/chat")                  # a client.Response; 101 or not
        c.send_text("hi"); assert c.recv() == (OP_TEXT, b"hi")
        c.close_handshake(1000)                         # -> the code the peer echoed
        up.handshakes[-1].header("X-Forwarded-For")     # what the gateway forwarded

The upstream answers a valid upgrade request with 101 (or `refuse_status`), any other request
with `plain_status` ("not a websocket"), keeps HTTP/1.1 connections alive until an upgrade, then
echoes every text and binary message (fragments reassembled, sent back as one frame), answers a
ping with a pong of the same payload and a close with a close echoing the status code, then
closes. It insists on what RFC 6455 asks of a server: masked client frames, no reserved bits,
control frames of at most 125 bytes and unfragmented, valid UTF-8 in text; a violation is
recorded in `errors` and answered with close 1002 (1007 for bad UTF-8).
"""
from __future__ import annotations

import base64
import hashlib
import os
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from . import client
from .server import SocketReader, ThreadedServer
from .upstream import Request, response_head

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
OPCODE_NAMES = {OP_CONT: "continuation", OP_TEXT: "text", OP_BINARY: "binary",
                OP_CLOSE: "close", OP_PING: "ping", OP_PONG: "pong"}

DEFAULT_TIMEOUT = client.DEFAULT_TIMEOUT  # 5 s: the client's socket operations
UPSTREAM_TIMEOUT = 10.0                   # the upstream's: longer than any idle tunnel in a test
MAX_MESSAGE = 16 << 20


class ProtocolError(Exception):
    """The peer broke RFC 6455."""


# -- handshake -------------------------------------------------------------------------------

def new_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(key: str) -> str:
    """The Sec-WebSocket-Accept answering `key` (RFC 6455 §4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def tokens(value: Optional[str]) -> list[str]:
    """A comma-separated header value as lower-cased tokens."""
    return [t.strip().lower() for t in (value or "").split(",") if t.strip()]


# -- frames ----------------------------------------------------------------------------------

@dataclass
class Frame:
    fin: bool
    opcode: int
    payload: bytes
    masked: bool = False
    rsv: int = 0  # the three RSV bits, as a number 0..7

    def __repr__(self) -> str:
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b"..."
        return (f"<Frame {OPCODE_NAMES.get(self.opcode, hex(self.opcode))} fin={self.fin} "
                f"masked={self.masked} rsv={self.rsv} len={len(self.payload)} {p!r}>")


def apply_mask(key: bytes, data: bytes) -> bytes:
    """XOR with the 4-byte masking key repeated (its own inverse)."""
    if not data:
        return b""
    n = len(data)
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(
        n, "little")


def encode_frame(opcode: int, payload: bytes = b"", fin: bool = True, mask: bool = True,
                 rsv: int = 0, mask_key: Optional[bytes] = None) -> bytes:
    """One frame; `mask` as a client must (a random key unless `mask_key` is given)."""
    head = bytes([(0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0x0F)])
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 1 << 16:
        head += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([bit | 127]) + struct.pack("!Q", n)
    if mask:
        key = mask_key if mask_key is not None else os.urandom(4)
        return head + key + apply_mask(key, payload)
    return head + payload


def close_payload(code: Optional[int], reason: str = "") -> bytes:
    return b"" if code is None else struct.pack("!H", code) + reason.encode()


def parse_close(payload: bytes) -> tuple[Optional[int], str]:
    """(status code or None, reason) of a close frame's payload."""
    if len(payload) < 2:
        return None, ""
    return struct.unpack("!H", payload[:2])[0], payload[2:].decode("utf-8", "replace")


def decode_frame(read_exact: Callable[[int], bytes], max_payload: int = MAX_MESSAGE) -> Frame:
    """The next frame from `read_exact(n)` (which returns exactly n bytes or raises)."""
    b0, b1 = read_exact(2)
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", read_exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", read_exact(8))[0]
        if n >> 63:
            raise ProtocolError("64-bit payload length with the top bit set")
    if n > max_payload:
        raise ProtocolError(f"frame of {n} bytes, over {max_payload}")
    masked = bool(b1 & 0x80)
    key = read_exact(4) if masked else b""
    payload = read_exact(n) if n else b""
    if masked:
        payload = apply_mask(key, payload)
    return Frame(fin=bool(b0 & 0x80), opcode=b0 & 0x0F, payload=payload, masked=masked,
                 rsv=(b0 >> 4) & 7)


class Reassembler:
    """Turns frames into messages: feed(frame) returns (opcode, payload) for a control frame or
    a completed data message, None while a fragmented message is incomplete."""

    def __init__(self):
        self.opcode: Optional[int] = None
        self.parts: list[bytes] = []
        self.size = 0

    def feed(self, f: Frame) -> Optional[tuple[int, bytes]]:
        if f.opcode >= 0x8:
            if f.opcode not in (OP_CLOSE, OP_PING, OP_PONG):
                raise ProtocolError(f"reserved control opcode {f.opcode:#x}")
            if not f.fin:
                raise ProtocolError("fragmented control frame")
            if len(f.payload) > 125:
                raise ProtocolError(f"control frame of {len(f.payload)} bytes")
            return f.opcode, f.payload
        if f.opcode == OP_CONT:
            if self.opcode is None:
                raise ProtocolError("continuation frame without a message to continue")
        elif f.opcode in (OP_TEXT, OP_BINARY):
            if self.opcode is not None:
                raise ProtocolError("new data frame inside a fragmented message")
            self.opcode = f.opcode
        else:
            raise ProtocolError(f"reserved data opcode {f.opcode:#x}")
        self.parts.append(f.payload)
        self.size += len(f.payload)
        if self.size > MAX_MESSAGE:
            raise ProtocolError(f"message over {MAX_MESSAGE} bytes")
        if not f.fin:
            return None
        out = (self.opcode, b"".join(self.parts))
        self.opcode, self.parts, self.size = None, [], 0
        return out


# -- the client ------------------------------------------------------------------------------

class WebSocketClient(client.Conn):
    """A client connection (client.Conn: its buffer, deadlines, read_head/read_body) that
    upgrades itself with handshake() and then speaks masked frames."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = DEFAULT_TIMEOUT):
        super().__init__(port, host=host, timeout=timeout)
        self.key: Optional[str] = None
        self.response: Optional[client.Response] = None
        self._messages = Reassembler()

    def handshake(self, path: str = "/", headers: Iterable = (), host: str = "test.local",
                  key: Optional[str] = None, version: str = "13",
                  timeout: Optional[float] = None) -> client.Response:
        """Sends the upgrade request (GET `path` with Upgrade, Connection, Sec-WebSocket-Key and
        -Version, then `headers`) and returns the response: a 101 head (bytes after it stay
        buffered as frames) or a complete non-101 response with its body. Never raises for a
        status."""
        timeout = self.timeout if timeout is None else timeout
        self.key = key or new_key()
        hdrs = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", self.key), ("Sec-WebSocket-Version", version)]
        hdrs += list(headers.items()) if isinstance(headers, dict) else list(headers)
        self.send(client.build_request("GET", path, headers=hdrs, host=host))
        deadline = time.monotonic() + timeout
        while True:
            resp = self.read_head(timeout=max(0.0, deadline - time.monotonic()))
            if 100 <= resp.status < 200 and resp.status != 101:
                continue  # an interim response: the final one follows
            break
        if resp.status != 101:
            resp = self.read_body(resp, method="GET",
                                  timeout=max(0.0, deadline - time.monotonic()))
        self.response = resp
        return resp

    def accept_ok(self) -> bool:
        """The response carries the Sec-WebSocket-Accept our key asks for."""
        return (self.response is not None and self.key is not None
                and self.response.header("Sec-WebSocket-Accept") == accept_for(self.key))

    # -- sending ---------------------------------------------------------------------------

    def send_frame(self, opcode: int, payload: bytes = b"", fin: bool = True,
                   mask: bool = True, rsv: int = 0) -> None:
        self.send(encode_frame(opcode, payload, fin=fin, mask=mask, rsv=rsv))

    def send_text(self, text: str) -> None:
        self.send_frame(OP_TEXT, text.encode("utf-8"))

    def send_binary(self, data: bytes) -> None:
        self.send_frame(OP_BINARY, data)

    def send_fragments(self, opcode: int, pieces: list[bytes]) -> None:
        """One message in len(pieces) frames: `opcode` first, continuations after."""
        for i, piece in enumerate(pieces):
            self.send_frame(opcode if i == 0 else OP_CONT, piece, fin=i == len(pieces) - 1)

    def send_ping(self, payload: bytes = b"") -> None:
        self.send_frame(OP_PING, payload)

    def send_pong(self, payload: bytes = b"") -> None:
        self.send_frame(OP_PONG, payload)

    def send_close(self, code: Optional[int] = 1000, reason: str = "") -> None:
        self.send_frame(OP_CLOSE, close_payload(code, reason))

    # -- receiving -------------------------------------------------------------------------

    def recv_frame(self, timeout: Optional[float] = None) -> Frame:
        """The next frame. ClosedError at EOF, TimeoutError at the deadline, ProtocolError for
        a masked frame (a server must not mask)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        f = decode_frame(lambda n: self._read_exact(n, deadline))
        if f.masked:
            raise ProtocolError(f"masked frame from the server: {f!r}")
        return f

    def recv(self, timeout: Optional[float] = None) -> tuple[int, bytes]:
        """The next message or control frame as (opcode, payload); fragments are joined."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            got = self._messages.feed(self.recv_frame(max(0.0, deadline - time.monotonic())))
            if got is not None:
                return got

    def echo(self, opcode: int, payload: bytes, timeout: Optional[float] = None) -> bytes:
        """Sends one message and returns the payload of the reply (which must have the same
        opcode)."""
        self.send_frame(opcode, payload)
        op, data = self.recv(timeout)
        assert op == opcode, f"sent {OPCODE_NAMES[opcode]}, got {OPCODE_NAMES.get(op, op)}"
        return data

    def close_handshake(self, code: int = 1000, reason: str = "",
                        timeout: Optional[float] = None) -> Optional[int]:
        """Sends close `code`, skips data until the peer's close and returns its code."""
        self.send_close(code, reason)
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            op, data = self.recv(max(0.0, deadline - time.monotonic()))
            if op == OP_CLOSE:
                return parse_close(data)[0]

    def at_eof(self, timeout: float = 2.0) -> bool:
        """True when the peer closes the TCP connection (FIN or RST) within `timeout`; whatever
        still arrives before that is dropped."""
        return self.wait_closed(timeout=timeout)

    def quiet(self, timeout: float = 0.2) -> bool:
        """True when nothing is buffered and nothing arrives (not even EOF) within `timeout`."""
        return not self.readable(timeout)


# -- the echo upstream -----------------------------------------------------------------------

@dataclass
class WsConn:
    """One TCP connection to the upstream: every request head on it, and after a 101 the
    messages it echoed and how the tunnel ended."""
    conn_id: int
    requests: list[Request] = field(default_factory=list)
    upgraded: bool = False
    messages: list[tuple[int, bytes]] = field(default_factory=list)  # data messages received
    pings: list[bytes] = field(default_factory=list)
    close_code: Optional[int] = None   # the code of the client's close frame
    ended: Optional[str] = None        # close | eof | idle | error | stopped, once done
    ended_at: float = 0.0


class WebSocketEchoUpstream(ThreadedServer):
    """A threaded WebSocket echo server on 127.0.0.1:<free port> (started at construction).

    refuse_status: answer every upgrade request with this status (e.g. 403) instead of 101.
    plain_status: the answer to a request without `Upgrade: websocket` (200 or 426).
    """

    def __init__(self, *, refuse_status: Optional[int] = None, plain_status: int = 200,
                 io_timeout: float = UPSTREAM_TIMEOUT):
        assert plain_status in (200, 426), plain_status
        self.refuse_status = refuse_status
        self.plain_status = plain_status
        self._ids = 0
        self.conns: list[WsConn] = []
        self.errors: list[str] = []
        super().__init__(io_timeout=io_timeout, name="ws-upstream")

    # -- what tests read -------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        """Every request head received, in order."""
        with self.lock:
            return [r for c in self.conns for r in c.requests]

    @property
    def handshakes(self) -> list[Request]:
        """The requests that asked for a WebSocket upgrade."""
        return [r for r in self.requests if "websocket" in tokens(r.header("Upgrade"))]

    @property
    def tunnels(self) -> list[WsConn]:
        """The connections that were upgraded (answered 101)."""
        with self.lock:
            return [c for c in self.conns if c.upgraded]

    def wait_handshakes(self, n: int, timeout: float = 5.0) -> list[Request]:
        return client.wait_until(lambda: len(self.handshakes) >= n and self.handshakes,
                                 timeout=timeout, what=f"{n} upgrade requests at the upstream")

    def wait_ended(self, conn: WsConn, timeout: float = 5.0) -> str:
        """Waits until the thread serving `conn` is done; returns how it ended."""
        return client.wait_until(lambda: conn.ended, timeout=timeout,
                                 what=f"upstream connection {conn.conn_id} to end")

    def clear(self) -> None:
        """Forgets what was seen so far. A live connection that was not upgraded (one the
        gateway may pool and reuse) stays listed, with its history emptied."""
        with self.lock:
            self.conns = [c for c in self.conns if c.ended is None and not c.upgraded]
            for c in self.conns:
                c.requests.clear()
            self.errors.clear()
            self.accepted = 0

    # -- serving ---------------------------------------------------------------------------

    def _accepted(self, sock: socket.socket) -> WsConn:
        """A WsConn for the connection (its conn_id, unlike `accepted`, survives clear())."""
        self._ids += 1
        conn = WsConn(conn_id=self._ids)
        self.conns.append(conn)
        return conn

    def _error(self, conn: WsConn, what: str) -> None:
        with self.lock:
            self.errors.append(f"conn {conn.conn_id}: {what}")

    def _serve(self, sock: socket.socket, conn: WsConn) -> None:
        stream = SocketReader(sock, closed=EOFError, reset_is_eof=True, head_limit=64 * 1024,
                              too_large=ProtocolError)
        ended = "eof"
        try:
            while not self._stop.is_set():
                raw = stream.head()
                if raw is None:
                    break
                req = self._parse_head(raw, conn)
                with self.lock:
                    conn.requests.append(req)
                self._skip_body(stream, req)
                if "websocket" not in tokens(req.header("Upgrade")):
                    body = b"not a websocket"
                    hdrs = [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
                    if self.plain_status == 426:
                        hdrs += [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                 ("Sec-WebSocket-Version", "13")]
                    sock.sendall(response_head(self.plain_status, hdrs,
                                               reason="Upgrade Required"
                                               if self.plain_status == 426 else None) + body)
                    continue
                problem = self._handshake_problem(req)
                if problem:
                    self._error(conn, f"bad upgrade request: {problem}")
                    body = problem.encode()
                    sock.sendall(response_head(400, [("Content-Length", str(len(body))),
                                                     ("Sec-WebSocket-Version", "13")],
                                               reason="Bad Request") + body)
                    continue
                if self.refuse_status is not None:
                    body = b"upgrade refused"
                    sock.sendall(response_head(self.refuse_status,
                                               [("Content-Type", "text/plain"),
                                                ("Content-Length", str(len(body)))],
                                               reason="Forbidden"
                                               if self.refuse_status == 403 else None) + body)
                    continue
                hdrs = [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                        ("Sec-WebSocket-Accept", accept_for(req.header("Sec-WebSocket-Key")))]
                offered = [t.strip() for t in (req.header("Sec-WebSocket-Protocol") or "")
                           .split(",") if t.strip()]
                if offered:
                    hdrs.append(("Sec-WebSocket-Protocol", offered[0]))
                sock.sendall(response_head(101, hdrs, reason="Switching Protocols"))
                with self.lock:
                    conn.upgraded = True
                ended = self._echo(sock, stream, conn)
                break
        except EOFError as e:  # closed in the middle of a request (a tunnel's EOF is caught
            ended = "eof"      # in _echo)
            self._error(conn, repr(e))
        except ConnectionError:  # reset, or a broken pipe on a send: the peer went away
            ended = "eof"
        except socket.timeout:
            if not conn.upgraded and not stream.buf:
                ended = "idle"  # a kept-alive (perhaps pooled) connection nobody used again
            else:
                ended = "error"
                self._error(conn, f"no data for {self.io_timeout}s")
        except (OSError, ProtocolError, ValueError) as e:
            ended = "stopped" if self._stop.is_set() else "error"
            if not self._stop.is_set():
                self._error(conn, repr(e))
        finally:
            with self.lock:
                conn.ended = ended
                conn.ended_at = time.monotonic()

    @staticmethod
    def _parse_head(raw: bytes, conn: WsConn) -> Request:
        lines = raw[:-4].split(b"\r\n")
        parts = lines[0].decode("latin-1").split(" ", 2)
        if len(parts) != 3:
            raise ProtocolError(f"bad request line {lines[0]!r}")
        method, target, version = parts
        headers = []
        for line in lines[1:]:
            n, sep, v = line.decode("latin-1").partition(":")
            if not sep:
                raise ProtocolError(f"bad header line {line!r}")
            headers.append((n, v.strip(" \t")))
        return Request(method=method, target=target, version=version, headers=headers,
                       raw_head=raw, conn_id=conn.conn_id, received_at=time.monotonic())

    @staticmethod
    def _skip_body(stream: SocketReader, req: Request) -> None:
        te = req.header("Transfer-Encoding")
        if te is not None:
            while True:
                size = int(stream.line().split(b";")[0].strip(), 16)
                if size == 0:
                    while stream.line():
                        pass
                    return
                stream.exact(size + 2)
        cl = req.header("Content-Length")
        if cl is not None and int(cl) > 0:
            stream.exact(int(cl))

    @staticmethod
    def _handshake_problem(req: Request) -> Optional[str]:
        if req.method != "GET":
            return f"method {req.method}, not GET"
        if req.version != "HTTP/1.1":
            return f"version {req.version}, not HTTP/1.1"
        if "upgrade" not in tokens(", ".join(req.header_all("Connection"))):
            return f"Connection {req.header_all('Connection')!r} has no upgrade token"
        key = req.header("Sec-WebSocket-Key")
        if key is None:
            return "no Sec-WebSocket-Key"
        try:
            if len(base64.b64decode(key, validate=True)) != 16:
                return f"Sec-WebSocket-Key {key!r} is not 16 bytes"
        except ValueError:
            return f"Sec-WebSocket-Key {key!r} is not base64"
        if req.header("Sec-WebSocket-Version") != "13":
            return f"Sec-WebSocket-Version {req.header('Sec-WebSocket-Version')!r}, not 13"
        return None

    def _echo(self, sock: socket.socket, stream: SocketReader, conn: WsConn) -> str:
        """The tunnel after 101: echo until a close frame (answered) or EOF."""
        messages = Reassembler()

        def close(code: int) -> str:
            sock.sendall(encode_frame(OP_CLOSE, close_payload(code), mask=False))
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return "error"

        while not self._stop.is_set():
            try:
                f = decode_frame(stream.exact)
            except EOFError:
                return "eof"
            except ProtocolError as e:
                self._error(conn, f"protocol: {e}")
                return close(1002)
            if not f.masked:
                self._error(conn, f"unmasked client frame {f!r}")
                return close(1002)
            if f.rsv:
                self._error(conn, f"reserved bits set without an extension: {f!r}")
                return close(1002)
            try:
                got = messages.feed(f)
            except ProtocolError as e:
                self._error(conn, f"protocol: {e}")
                return close(1002)
            if got is None:
                continue
            op, payload = got
            if op in (OP_TEXT, OP_BINARY):
                if op == OP_TEXT:
                    try:
                        payload.decode("utf-8")
                    except UnicodeDecodeError:
                        self._error(conn, "text message is not UTF-8")
                        return close(1007)
                with self.lock:
                    conn.messages.append((op, payload))
                sock.sendall(encode_frame(op, payload, mask=False))
            elif op == OP_PING:
                with self.lock:
                    conn.pings.append(payload)
                sock.sendall(encode_frame(OP_PONG, payload, mask=False))
            elif op == OP_CLOSE:
                code, _ = parse_close(payload)
                with self.lock:
                    conn.close_code = code
                sock.sendall(encode_frame(OP_CLOSE, close_payload(code), mask=False))
                try:
                    sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                # Wait (briefly) for the peer's FIN so that our close does not reset the
                # connection with unread bytes in flight.
                deadline = time.monotonic() + 2.0
                while time.monotonic() < deadline:
                    r, _, _ = select.select([sock], [], [], 0.05)
                    if r and not stream.fill():
                        break
                return "close"
            # OP_PONG: unsolicited, ignored
        return "stopped"
