"""What the raw-socket upstreams of the e2e tests (upstream.py, websocket.py) share: a threaded
TCP server on 127.0.0.1:<free port> and a buffered reader over a connected socket.

    class Upstream(ThreadedServer):
        def __init__(self):
            self.seen = []                        # state first: accepting starts in super()
            super().__init__(io_timeout=10.0, name="my-upstream")

        def _accepted(self, sock):                # under self.lock, self.accepted counted
            return self.accepted                  # -> `conn`, whatever _serve wants

        def _serve(self, sock, conn):             # in the connection's own thread
            reader = SocketReader(sock)
            while (head := reader.head()) is not None:
                ...
"""
from __future__ import annotations

import socket
import threading
from typing import Any, Optional


class SocketReader:
    """A receive buffer over a socket. `closed` is the exception raised when the peer closes in
    the middle of a line, head or byte count; with `reset_is_eof` a connection reset reads as
    a plain close. A request head longer than `head_limit` bytes raises `too_large`."""

    def __init__(self, sock: socket.socket, *, closed: type[Exception] = ConnectionError,
                 reset_is_eof: bool = False, head_limit: Optional[int] = None,
                 too_large: type[Exception] = ValueError):
        self.sock = sock
        self.buf = b""
        self.closed = closed
        self.reset_is_eof = reset_is_eof
        self.head_limit = head_limit
        self.too_large = too_large

    def fill(self) -> bool:
        """Reads what arrives into `buf`; False at EOF."""
        try:
            data = self.sock.recv(256 * 1024)
        except ConnectionResetError:
            if self.reset_is_eof:
                return False
            raise
        if not data:
            return False
        self.buf += data
        return True

    def line(self) -> bytes:
        """The next line, without its CRLF."""
        while b"\r\n" not in self.buf:
            if not self.fill():
                raise self.closed("closed mid-line")
        i = self.buf.index(b"\r\n")
        out, self.buf = self.buf[:i], self.buf[i + 2:]
        return out

    def head(self) -> Optional[bytes]:
        """The next request head, or None when the peer closes between requests."""
        while b"\r\n\r\n" not in self.buf:
            if self.head_limit is not None and len(self.buf) > self.head_limit:
                raise self.too_large(f"request head over {self.head_limit >> 10} KiB")
            if not self.fill():
                if self.buf:
                    raise self.closed(f"closed mid-head: {self.buf[:200]!r}")
                return None
        i = self.buf.index(b"\r\n\r\n")
        out, self.buf = self.buf[:i + 4], self.buf[i + 4:]
        return out

    def pieces(self, n: int):
        """Exactly n bytes, yielded as they arrive."""
        left = n
        while left > 0:
            if not self.buf and not self.fill():
                raise self.closed(f"closed with {left} of {n} bytes missing")
            piece, self.buf = self.buf[:left], self.buf[left:]
            left -= len(piece)
            yield piece

    def exact(self, n: int) -> bytes:
        """Exactly n bytes, at once (they stay in `buf` until all are there)."""
        while len(self.buf) < n:
            if not self.fill():
                raise self.closed(f"closed with {n - len(self.buf)} of {n} bytes missing")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


class ThreadedServer:
    """A TCP server on 127.0.0.1:<free port>, accepting from construction on: a thread accepts,
    and each connection (timeout `io_timeout`, TCP_NODELAY) is served in a thread of its own.

    A subclass sets up its state, then calls this __init__ (which starts accepting), and
    implements _accepted(sock) -> conn (called under `lock` with `accepted` already counted:
    records the connection) and _serve(sock, conn) (serves it; the socket is closed after).
    """

    def __init__(self, io_timeout: float, name: str = "server"):
        self.io_timeout = io_timeout
        self.lock = threading.Lock()
        self.accepted = 0  # connections accepted (a subclass's clear() may reset it)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._open: set[socket.socket] = set()  # the connections still being served
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.name = f"{name}-{self.port}"
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=self.name)
        self._accept_thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- for subclasses --------------------------------------------------------------------

    def _accepted(self, sock: socket.socket) -> Any:
        raise NotImplementedError

    def _serve(self, sock: socket.socket, conn: Any) -> None:
        raise NotImplementedError

    # -- serving ---------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            sock.settimeout(self.io_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.accepted += 1
                conn = self._accepted(sock)
                self._open.add(sock)
                t = threading.Thread(target=self._run, args=(sock, conn), daemon=True,
                                     name=f"{self.name}-conn{self.accepted}")
                self._threads.append(t)
            t.start()

    def _run(self, sock: socket.socket, conn: Any) -> None:
        try:
            self._serve(sock, conn)
        finally:
            with self.lock:
                self._open.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    def stop(self) -> None:
        """Closes the listener, shuts the open connections down and joins the threads."""
        self._stop.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self._open)
            threads = list(self._threads)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._accept_thread.join(timeout=2)
        for t in threads:
            t.join(timeout=2)
