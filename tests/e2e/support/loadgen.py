"""Load from another process: keep-alive client connections (threads with raw sockets), and
the upstream servers they end up at, in a child Python process, so that the test process
(which writes configs and measures how soon a change is served) is not slowed by their GIL.

    with LoadProcess(bodies=["A", "B"]) as lp:        # upstreams answering "A" and "B"
        lp.upstreams["A"]                              # "127.0.0.1:PORT"
        lp.start(gw.port, connections=64, path="/stable", accept=["A", "B"])
        ...
        result = lp.stop()                             # {"ok": N, "failures": [...]}

Every load request must answer 200 with one of the accepted bodies on a connection that stays
open; anything else (status, body, `Connection: close`, a closed or reset connection, a
timeout) is a failure, recorded with what happened.
"""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

START_TIMEOUT = 10.0


class LoadProcess:
    def __init__(self, bodies=("A", "B")):
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(Path(__file__).resolve()), *bodies],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True, name="loadgen-reader")
        self.reader.start()
        self.upstreams: dict[str, str] = self._reply(START_TIMEOUT)["upstreams"]

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _reply(self, timeout: float) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"load process silent for {timeout}s") from None
        if line is None:
            raise AssertionError(f"load process exited: {self.proc.stderr.read()[-2000:]}")
        return json.loads(line)

    def _cmd(self, timeout: float = 10.0, **cmd) -> dict:
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._reply(timeout)

    def start(self, port: int, connections: int, path: str, accept, pause: float = 0.004) -> dict:
        """Opens `connections` connections to 127.0.0.1:port and returns once each has had
        one answer."""
        return self._cmd(timeout=START_TIMEOUT + 5, cmd="start", port=port,
                         connections=connections, path=path, accept=list(accept), pause=pause)

    def stats(self) -> dict:
        return self._cmd(cmd="stats")

    def stop(self) -> dict:
        return self._cmd(timeout=20, cmd="stop")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# -- the child -----------------------------------------------------------------------------

class _Load:
    def __init__(self, port, connections, path, accept, pause):
        self.port, self.path, self.pause = port, path, pause
        self.accept = {a.encode() for a in accept}
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.ok = 0
        self.failures: list[str] = []
        self.first = threading.Semaphore(0)
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True)
                        for i in range(connections)]

    def _fail(self, what):
        with self.lock:
            self.failures.append(f"{time.time():.3f} {what}")

    def _run(self, index):
        from support.client import ClosedError, Conn
        conn = None
        n = 0
        signalled = False
        while not self.stop.is_set():
            try:
                if conn is None:
                    conn = Conn(self.port, timeout=5)
                n += 1
                resp = conn.request("GET", f"{self.path}/{index}/{n}", timeout=5)
                if resp.status != 200 or resp.body not in self.accept:
                    self._fail(f"conn {index} request {n}: {resp!r}")
                else:
                    with self.lock:
                        self.ok += 1
                if (resp.header("Connection") or "").lower() == "close":
                    self._fail(f"conn {index} request {n}: Connection: close on a keep-alive "
                               f"connection")
                    conn.close()
                    conn = None
            except (OSError, ClosedError, TimeoutError, AssertionError, ValueError) as e:
                self._fail(f"conn {index} request {n}: {type(e).__name__}: {e}")
                if conn:
                    conn.close()
                conn = None
            if not signalled:
                signalled = True
                self.first.release()
            time.sleep(self.pause)
        if conn:
            conn.close()


def _child(bodies):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from support.upstream import UpstreamServer, respond

    servers = {b: UpstreamServer(respond(200, b.encode())) for b in bodies}
    out = sys.stdout
    out.write(json.dumps({"upstreams": {b: s.address for b, s in servers.items()}}) + "\n")
    load = None
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "start":
            load = _Load(cmd["port"], cmd["connections"], cmd["path"], cmd["accept"],
                         cmd["pause"])
            for t in load.threads:
                t.start()
            deadline = time.monotonic() + START_TIMEOUT
            started = all(load.first.acquire(timeout=max(0.0, deadline - time.monotonic()))
                          for _ in load.threads)
            out.write(json.dumps({"started": started, "ok": load.ok,
                                  "failures": load.failures[:20]}) + "\n")
        elif cmd["cmd"] == "stats":
            with load.lock:
                out.write(json.dumps({"ok": load.ok, "failures": len(load.failures)}) + "\n")
        elif cmd["cmd"] == "stop":
            load.stop.set()
            for t in load.threads:
                t.join(timeout=10)
            alive = sum(t.is_alive() for t in load.threads)
            out.write(json.dumps({"ok": load.ok, "failures": load.failures,
                                  "threads_alive": alive}) + "\n")
    for s in servers.values():
        s.stop()


if __name__ == "__main__":
    _child(sys.argv[1:] or ["A", "B"])
