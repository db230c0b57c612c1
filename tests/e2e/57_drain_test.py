"""Draining (SPEC §1): on SIGTERM/SIGINT the gateway stops accepting, reports not ready, lets
requests in flight finish (up to server.drain_timeout), closes idle connections and exits 0.
A reload while a slow request is in flight does not cut it."""
import signal
import socket
import threading
import time

import pytest

from support.client import port_accepts, wait_until
from support.upstream import by_path, respond

SLOW = 3.0

CONFIG = """
server:
  listeners: [{name: public, address: "$listen"}]
  drain_timeout: $drain
admin: {address: "$admin"}
routes:
  - {name: svc, paths: ["/**"], upstream: "$up"}
"""


class InFlight:
    """One request in a thread; its response (or error) and when it came back."""

    def __init__(self, gw, path: str, timeout: float = SLOW + 5):
        self.result = {}
        self.thread = threading.Thread(target=self._run, args=(gw, path, timeout), daemon=True)
        self.thread.start()

    def _run(self, gw, path, timeout):
        try:
            self.result["resp"] = gw.request("GET", path, timeout=timeout)
        except Exception as e:  # reported by response()
            self.result["error"] = e
        self.result["at"] = time.monotonic()

    def response(self, timeout: float):
        self.thread.join(timeout=timeout)
        assert not self.thread.is_alive(), "the request in flight never finished"
        assert "error" not in self.result, f"the request in flight failed: {self.result['error']!r}"
        return self.result["resp"]


def refused(port: int) -> bool:
    """True when a new TCP connection to the port is refused (not merely slow)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            # Accepted by the kernel: refused only if the gateway then resets or closes it
            # without a word.
            s.settimeout(0.5)
            s.sendall(b"GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
            return s.recv(1) == b""
    except ConnectionRefusedError:
        return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_drain_finishes_the_slow_request_refuses_new_ones_and_exits_0(gateway, upstream, sig):
    up = upstream(by_path({"/slow": respond(200, b"slow done", delay=SLOW)},
                          default=respond(200, b"fast")))
    gw = gateway(CONFIG, up=up.url, drain="30s", workers=2)
    api = gw.admin()
    assert api.get("/ready").status == 200
    idle = gw.conn()
    assert idle.request("GET", "/warm").status == 200  # an idle keep-alive connection

    slow = InFlight(gw, "/slow")
    up.wait_requests(2)
    sent = time.monotonic()
    gw.send_signal(sig)

    # Not ready, still healthy, while draining.
    wait_until(lambda: api.get("/ready").status == 503, timeout=1,
               what="/ready to answer 503 while draining")
    ready = api.get("/ready")
    assert ready.json().get("status") != "ready", ready
    assert api.get("/health").status == 200
    # New connections are refused; the idle keep-alive one is closed.
    wait_until(lambda: refused(gw.port), timeout=1, what="new connections to be refused")
    assert idle.wait_closed(timeout=2), "idle keep-alive connection kept open while draining"
    idle.close()
    for _ in range(5):
        assert refused(gw.port), "a new connection was accepted while draining"
        time.sleep(0.1)
    assert gw.alive(), "exited with a request in flight"
    assert api.get("/ready").status == 503

    resp = slow.response(timeout=SLOW + 3)
    assert (resp.status, resp.body) == (200, b"slow done"), resp
    assert slow.result["at"] - sent >= SLOW - 0.5
    assert gw.wait(timeout=5) == 0, gw.logs()
    assert not port_accepts(gw.port) and not port_accepts(gw.admin_port)


def test_drain_timeout_bounds_the_wait(gateway, upstream):
    up = upstream(respond(200, b"too late", delay=SLOW))
    gw = gateway(CONFIG, up=up.url, drain="500ms")
    slow = InFlight(gw, "/slow")
    up.wait_requests(1)
    sent = time.monotonic()
    gw.send_signal(signal.SIGTERM)
    code = gw.wait(timeout=SLOW)
    took = time.monotonic() - sent
    assert code == 0, gw.logs()
    assert 0.4 <= took < 2.0, f"exited {took:.2f}s after SIGTERM with drain_timeout 500ms"
    slow.thread.join(timeout=5)
    assert "resp" not in slow.result or slow.result["resp"].status != 200
    # The gateway cut it, not the client: logged as its own error and status.
    [line] = [d for d in gw.access_lines() if d["path"] == "/slow"]
    assert (line["status"], line["error"]) == (503, "drain_timeout"), line


def test_reload_during_a_slow_request_does_not_cut_it(gateway, upstream):
    old = upstream(by_path({"/slow": respond(200, b"old slow", delay=SLOW)},
                           default=respond(200, b"old")))
    new = upstream(respond(200, b"new"))
    gw = gateway(CONFIG, up=old.url, drain="30s")
    api = gw.admin()
    slow = InFlight(gw, "/slow")
    old.wait_requests(1)

    # SIGHUP (the same file): generation 2.
    gw.send_signal(signal.SIGHUP)
    api.wait_generation(2)
    # A file change: the route moves to the other upstream; the old one leaves the config.
    gw.write_config(up=new.url)
    api.wait_generation(3)
    assert gw.request("GET", "/x").body == b"new"
    # The admin API: one more.
    assert api.post("/config", gw.config_text(gw.port, up=new.url, drain="20s")).status == 200
    assert api.generation() == 4

    resp = slow.response(timeout=SLOW + 3)
    assert (resp.status, resp.body) == (200, b"old slow"), resp
    assert api.reloads() == (3, 0)


def test_drain_under_load_never_cuts_a_response(gateway, upstream):
    """16 keep-alive connections busy when SIGTERM comes: every response that started is
    complete; a connection is only ever closed between responses; exit 0 soon after."""
    from support.client import ClosedError, Conn
    up = upstream(respond(200, b"x" * 20000, delay=0.02))
    gw = gateway(CONFIG, up=up.url, drain="10s", workers=2)
    stop = threading.Event()
    lock = threading.Lock()
    stats = {"ok": 0, "clean_close": 0, "refused": 0}
    problems = []

    def run(i):
        conn = None
        while not stop.is_set():
            try:
                if conn is None:
                    conn = Conn(gw.port, timeout=5)
                resp = conn.request("GET", f"/load/{i}", timeout=5)
                if resp.status != 200 or len(resp.body) != 20000:
                    with lock:
                        problems.append(f"conn {i}: {resp!r}")
                with lock:
                    stats["ok"] += 1
                if (resp.header("Connection") or "").lower() == "close":
                    conn.close()
                    conn = None
            except ConnectionRefusedError:
                with lock:
                    stats["refused"] += 1
                time.sleep(0.01)
                conn = None
            except (BrokenPipeError, ConnectionResetError):
                # The request could not even be sent: closed while idle (the keep-alive race).
                with lock:
                    stats["clean_close"] += 1
                conn = None
            except ClosedError as e:
                # Closed with nothing of a response: the keep-alive race, allowed.
                # Closed in the middle of one: a cut response.
                if conn is not None and conn.buf == b"" and "got b''" in str(e):
                    with lock:
                        stats["clean_close"] += 1
                else:
                    with lock:
                        problems.append(f"conn {i}: cut: {e}")
                conn = None
            except (OSError, TimeoutError) as e:
                with lock:
                    problems.append(f"conn {i}: {type(e).__name__}: {e}")
                conn = None

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(16)]
    for t in threads:
        t.start()
    wait_until(lambda: stats["ok"] >= 100, timeout=5, what="the load to run")
    gw.send_signal(signal.SIGTERM)
    code = gw.wait(timeout=5)
    stop.set()
    for t in threads:
        t.join(timeout=6)
    assert code == 0, gw.logs()
    assert problems == [], "\n".join(problems[:20])


def test_reload_during_the_drain_does_not_cut_the_request(gateway, upstream):
    old = upstream(by_path({"/slow": respond(200, b"old slow", delay=1.5)},
                           default=respond(200, b"old")))
    new = upstream(respond(200, b"new"))
    gw = gateway(CONFIG, up=old.url, drain="30s")
    api = gw.admin()
    slow = InFlight(gw, "/slow")
    old.wait_requests(1)
    gw.send_signal(signal.SIGTERM)
    wait_until(lambda: api.get("/ready").status == 503, timeout=1, what="the drain to start")
    gw.write_config(up=new.url)       # the upstream of the request in flight leaves the config
    gw.send_signal(signal.SIGHUP)
    resp = slow.response(timeout=5)
    assert (resp.status, resp.body) == (200, b"old slow"), resp
    assert gw.wait(timeout=5) == 0, gw.logs()
