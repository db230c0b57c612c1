"""Raw-socket HTTP/1.1 client: exact bytes out, a fully parsed response back, with deadlines.

The framing of each response is recorded (`length`, `chunked`, `close`, `none`) so that tests can
assert how the gateway framed it, not just what the body was.
"""
from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

DEFAULT_TIMEOUT = 5.0


class ClosedError(ConnectionError):
    """The peer closed the connection before a complete response arrived."""


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    framing: str = "none"  # length | chunked | close | none
    chunk_sizes: list[int] = field(default_factory=list)
    trailers: list[tuple[str, str]] = field(default_factory=list)
    raw_head: bytes = b""

    def header(self, name: str) -> Optional[str]:
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:  # short enough for assertion messages
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        return (f"<Response {self.status} {self.reason!r} framing={self.framing} "
                f"headers={self.headers!r} body={body!r}>")


def build_request(method: str = "GET", target: str = "/", headers: Iterable = (),
                  body: bytes = b"", host: Optional[str] = "test.local",
                  version: str = "1.1") -> bytes:
    """A request head (and body). Content-Length is added for a body unless framing is given."""
    if isinstance(headers, dict):
        headers = list(headers.items())
    headers = list(headers)
    names = {n.lower() for n, _ in headers}
    lines = [f"{method} {target} HTTP/{version}"]
    if host is not None and "host" not in names:
        lines.append(f"Host: {host}")
    for n, v in headers:
        lines.append(f"{n}: {v}")
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + body


def chunked(*pieces: bytes, trailers: Iterable = ()) -> bytes:
    """A chunked body made of the given pieces (empty pieces are skipped), then the last chunk."""
    out = b""
    for p in pieces:
        if p:
            out += f"{len(p):x}\r\n".encode() + p + b"\r\n"
    out += b"0\r\n"
    for n, v in trailers:
        out += f"{n}: {v}\r\n".encode()
    return out + b"\r\n"


class Conn:
    """One client connection with its own read buffer."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = DEFAULT_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""
        self.eof = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, *args, timeout: float = DEFAULT_TIMEOUT, **kwargs) -> Response:
        """build_request(...) on this connection, then its response."""
        data = build_request(*args, **kwargs)
        self.send(data)
        method = args[0] if args else kwargs.get("method", "GET")
        return self.read_response(method=method, timeout=timeout)

    # -- reading ---------------------------------------------------------------------------

    def _fill(self, deadline: float) -> bool:
        """Reads more bytes into the buffer; False at EOF. Raises TimeoutError at the deadline."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"deadline passed; buffered so far: {self.buf[:500]!r}")
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(256 * 1024)
        except socket.timeout:
            raise TimeoutError(f"no data before the deadline; buffered so far: "
                               f"{self.buf[:500]!r}") from None
        except ConnectionResetError:
            self.eof = True
            return False
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _read_line(self, deadline: float) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            if not self._fill(deadline):
                raise ClosedError(f"connection closed mid-line; buffered: {self.buf[:500]!r}")

    def _read_exact(self, n: int, deadline: float) -> bytes:
        while len(self.buf) < n:
            if not self._fill(deadline):
                raise ClosedError(f"connection closed after {len(self.buf)} of {n} bytes")
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read_head(self, timeout: float = DEFAULT_TIMEOUT) -> Response:
        """The next response head (an interim 1xx one included); the body is left unread."""
        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self.buf:
            if not self._fill(deadline):
                raise ClosedError(f"connection closed before a complete head; got {self.buf!r}")
        end = self.buf.index(b"\r\n\r\n")
        raw, self.buf = self.buf[:end + 4], self.buf[end + 4:]
        lines = raw[:-4].split(b"\r\n")
        version, _, rest = lines[0].decode("latin-1").partition(" ")
        status, _, reason = rest.partition(" ")
        headers = []
        for line in lines[1:]:
            name, sep, value = line.decode("latin-1").partition(":")
            assert sep, f"malformed response header line {line!r}"
            headers.append((name, value.strip(" \t")))
        return Response(version=version, status=int(status), reason=reason, headers=headers,
                        raw_head=raw)

    def read_body(self, resp: Response, method: str = "GET", timeout: float = DEFAULT_TIMEOUT,
                  sink=None) -> Response:
        """Reads the body of `resp` per RFC 9112 §6.3. With `sink`, pieces go there instead."""
        deadline = time.monotonic() + timeout
        parts: list[bytes] = []

        def take(data: bytes):
            if sink is not None:
                sink(data)
            else:
                parts.append(data)

        te = resp.header("Transfer-Encoding")
        cl = resp.header_all("Content-Length")
        if method == "HEAD" or resp.status < 200 or resp.status in (204, 304):
            resp.framing = "none"
        elif te is not None:
            assert te.lower() == "chunked", f"unexpected Transfer-Encoding {te!r}"
            resp.framing = "chunked"
            while True:
                line = self._read_line(deadline)
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    break
                resp.chunk_sizes.append(size)
                take(self._read_exact(size, deadline))
                assert self._read_exact(2, deadline) == b"\r\n", "chunk not followed by CRLF"
            while True:
                line = self._read_line(deadline)
                if not line:
                    break
                name, _, value = line.decode("latin-1").partition(":")
                resp.trailers.append((name, value.strip()))
        elif cl:
            assert len(cl) == 1, f"several Content-Length headers: {cl}"
            resp.framing = "length"
            remaining = int(cl[0])
            while remaining > 0:
                if not self.buf and not self._fill(deadline):
                    raise ClosedError(f"connection closed with {remaining} body bytes missing")
                piece, self.buf = self.buf[:remaining], self.buf[remaining:]
                remaining -= len(piece)
                take(piece)
        else:
            resp.framing = "close"
            while True:
                if self.buf:
                    take(self.buf)
                    self.buf = b""
                if not self._fill(deadline):
                    break
        resp.body = b"".join(parts)
        return resp

    def read_response(self, method: str = "GET", timeout: float = DEFAULT_TIMEOUT,
                      skip_interim: bool = True) -> Response:
        """The next complete response; interim (1xx) ones are skipped unless asked for."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.read_head(timeout=max(0.0, deadline - time.monotonic()))
            if skip_interim and 100 <= resp.status < 200 and resp.status != 101:
                continue
            return self.read_body(resp, method=method,
                                  timeout=max(0.0, deadline - time.monotonic()))

    def recv_some(self, timeout: float = DEFAULT_TIMEOUT) -> bytes:
        """Whatever is buffered, or the next bytes to arrive; b"" at EOF."""
        if not self.buf:
            self._fill(time.monotonic() + timeout)
        data, self.buf = self.buf, b""
        return data

    def readable(self, timeout: float = 0.0) -> bool:
        """True when response bytes are buffered or arrive within `timeout` (nothing is read)."""
        if self.buf or self.eof:
            return True
        r, _, _ = select.select([self.sock], [], [], timeout)
        return bool(r)

    def wait_closed(self, timeout: float = 2.0) -> bool:
        """True when the peer closes (FIN or RST) before the timeout; unread data is dropped."""
        deadline = time.monotonic() + timeout
        try:
            while self._fill(deadline):
                self.buf = b""
        except TimeoutError:
            return False
        return True


def request(port: int, *args, timeout: float = DEFAULT_TIMEOUT, **kwargs) -> Response:
    """One request on a fresh connection."""
    with Conn(port, timeout=timeout) as c:
        return c.request(*args, timeout=timeout, **kwargs)


def send_raw(port: int, data: bytes, method: str = "GET",
             timeout: float = DEFAULT_TIMEOUT) -> Response:
    """Exact bytes on a fresh connection; the first final response."""
    with Conn(port, timeout=timeout) as c:
        c.send(data)
        return c.read_response(method=method, timeout=timeout)


def assert_error(resp: Response, status: int, code: str) -> dict:
    """A gateway-made error per SPEC §5: JSON body, request id in body and header agree."""
    assert resp.status == status, f"expected {status} {code}, got {resp!r}"
    ctype = resp.header("Content-Type") or ""
    assert ctype.split(";")[0].strip() == "application/json", f"Content-Type {ctype!r}: {resp!r}"
    doc = resp.json()
    assert set(doc) == {"error", "message", "request_id"}, f"error body keys: {doc!r}"
    assert doc["error"] == code, f"error code {doc['error']!r}, expected {code!r}"
    assert isinstance(doc["message"], str) and doc["message"], f"empty message: {doc!r}"
    assert isinstance(doc["request_id"], str) and doc["request_id"], f"no request_id: {doc!r}"
    assert resp.header("X-Request-Id") == doc["request_id"], (
        f"X-Request-Id {resp.header('X-Request-Id')!r} != body request_id {doc['request_id']!r}")
    return doc


def port_accepts(port: int, timeout: float = 0.2) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until(predicate, timeout: float = 5.0, interval: float = 0.01, what: str = "condition"):
    """Polls `predicate` until it is truthy; AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


_HELD_PORTS: list[socket.socket] = []


def refused_port() -> int:
    """A port where connections are refused: bound (so that nothing else, a gateway under test
    included, can take it) but not listening, for as long as the test session runs."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    _HELD_PORTS.append(s)
    return s.getsockname()[1]
