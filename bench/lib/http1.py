"""A tiny blocking HTTP/1.1 client: enough for readiness checks and idle connections.

Reads one full response (Content-Length or chunked) and leaves the socket open,
so the connection can stay idle in keep-alive afterwards.
"""
from __future__ import annotations

import socket
import time


class HttpError(Exception):
    pass


def request_bytes(port: int, path: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"User-Agent: turnpike-bench\r\n\r\n").encode()


def _read_until(sock: socket.socket, buf: bytearray, marker: bytes) -> int:
    while True:
        i = buf.find(marker)
        if i >= 0:
            return i
        chunk = sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed before the response was complete")
        buf += chunk


def _read_exact(sock: socket.socket, buf: bytearray, n: int) -> None:
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            raise HttpError("connection closed in the middle of the body")
        buf += chunk


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response from sock: (status, lower-cased headers, body)."""
    buf = bytearray()
    end = _read_until(sock, buf, b"\r\n\r\n")
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[:end + 4]
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"bad status line {head[0]!r}")
    status = int(parts[1])
    headers = {}
    for line in head[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            i = _read_until(sock, buf, b"\r\n")
            size = int(bytes(buf[:i]).split(b";")[0], 16)
            del buf[:i + 2]
            _read_exact(sock, buf, size + 2)
            body += buf[:size]
            del buf[:size + 2]
            if size == 0:
                break  # (trailers are not expected from these servers)
        return status, headers, bytes(body)
    n = int(headers.get("content-length", "0"))
    _read_exact(sock, buf, n)
    return status, headers, bytes(buf[:n])


def get(sock: socket.socket, port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    sock.sendall(request_bytes(port, path))
    return read_response(sock)


def probe(port: int, path: str, timeout: float = 1.0) -> tuple[int | None, str]:
    """Connect + one GET. Returns (status, "") or (None, why it failed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            status, _, _ = get(s, port, path)
            return status, ""
    except (OSError, HttpError, ValueError) as e:
        return None, f"{type(e).__name__}: {e}"


def wait_ready(port: int, path: str, deadline_s: float, alive=lambda: True) -> tuple[bool, str]:
    """Poll until a GET answers 200, the process dies, or the deadline passes."""
    end = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < end:
        if not alive():
            return False, (f"last probe: {last}" if last else "it exited before the first probe")
        status, why = probe(port, path)
        if status == 200:
            return True, ""
        last = f"HTTP {status}" if status is not None else why
        time.sleep(0.1)
    return False, f"no 200 within {deadline_s:.0f} s (last probe: {last})"
