"""Memory per idle keep-alive client connection.

Open N client connections to the proxy, send one keep-alive GET on each and read the
whole response, then leave them all idle. The proxy's resident memory (VmRSS summed
over its processes) is read before opening and after everything has been idle for a
settle period; (after - before) / N is the cost of one idle connection as the
proxy's own memory sees it (kernel socket buffers are not in RSS and not counted).
RSS is also read when half of them are open, which gives the marginal cost of the
second half as a cross-check.
"""
from __future__ import annotations

import resource
import socket
import time
from dataclasses import dataclass

from . import http1
from .procs import Server


@dataclass
class IdleResult:
    target: str
    requested: int
    opened: int = 0            # connections that got a full 200 answer
    alive: int = 0             # of those, still open when the RSS was read
    rss_before_kb: int = 0
    rss_half_kb: int = 0       # after the first half was opened and had settled
    rss_after_kb: int = 0
    seconds_to_open: float = 0.0
    error: str = ""

    @property
    def bytes_per_conn(self) -> float | None:
        if self.alive == 0 or self.error:
            return None
        return (self.rss_after_kb - self.rss_before_kb) * 1024 / self.alive

    @property
    def marginal_bytes_per_conn(self) -> float | None:
        """Second half only: (RSS(N) - RSS(N/2)) / (N/2). Memory the proxy had freed
        earlier (and reuses for the first connections) and fixed one-off costs drop out."""
        half = self.requested - self.requested // 2
        if self.error or self.alive < self.requested or half == 0 or not self.rss_half_kb:
            return None
        return (self.rss_after_kb - self.rss_half_kb) * 1024 / half

    def problems(self) -> list[str]:
        out = [self.error] if self.error else []
        if not self.error and self.opened < self.requested:
            out.append(f"only {self.opened}/{self.requested} connections opened")
        if not self.error and self.alive < self.opened:
            out.append(f"{self.opened - self.alive} connections were closed by the proxy before the measurement")
        return out


def raise_nofile(wanted: int) -> int:
    """Raise this process's RLIMIT_NOFILE (children inherit it). Returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if wanted > hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        return wanted
    return soft


def _still_open(sock: socket.socket) -> bool:
    sock.settimeout(0)       # a socket with a timeout would wait for data instead of answering now
    try:
        data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True          # open, nothing to read: idle as intended
    except OSError:
        return False
    return bool(data)        # b"" means the peer closed it


def measure(server: Server, n: int, path: str, settle_s: float, deadline_s: float = 120.0) -> IdleResult:
    res = IdleResult(server.name, n)
    socks: list[socket.socket] = []
    try:
        time.sleep(settle_s)
        res.rss_before_kb = server.rss_kb()
        start = time.monotonic()
        end = start + deadline_s
        request = http1.request_bytes(server.port, path)
        for i in range(n):
            if i == n // 2 and i > 0:
                time.sleep(settle_s)
                res.rss_half_kb = server.rss_kb()
            if time.monotonic() > end:
                res.error = f"opening took longer than {deadline_s:.0f} s (stopped at {i})"
                break
            try:
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            except OSError as e:
                res.error = f"connect #{i + 1} failed: {e}"
                break
            socks.append(s)
            try:
                s.sendall(request)
                status, _, _ = http1.read_response(s)
            except (OSError, http1.HttpError, ValueError) as e:
                res.error = f"GET on connection #{i + 1} failed: {e}"
                break
            if status != 200:
                res.error = f"GET on connection #{i + 1} answered HTTP {status}"
                break
            res.opened += 1
        res.seconds_to_open = time.monotonic() - start - (settle_s if res.rss_half_kb else 0)
        time.sleep(settle_s)
        res.rss_after_kb = server.rss_kb()
        res.alive = sum(_still_open(s) for s in socks[:res.opened])
    finally:
        for s in socks:
            s.close()
    return res
