"""The turnpike process under test: inline YAML in a temp file, a free port on 127.0.0.1,
stdout/stderr captured to files, started with a readiness deadline, stopped by PID.

A config may use `$admin` (127.0.0.1:ADMIN_PORT, a second free port picked with the listener's);
the gateway then also waits for the admin listener, and `gw.admin()` is a client for it.
`gw.write_config(...)` rewrites the watched file (atomically or in place) for reload tests.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import textwrap
import time
from pathlib import Path
from typing import Optional

from . import client
from . import logs

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
# turnpike starts watching its config file a moment after its listeners (and the admin API)
# answer; a change in between is lost (see 55_reload_test.py, the start-up test). Tests that
# rewrite the file wait this long after start-up before their first write.
WATCH_SETTLE = 0.25

REPO = Path(__file__).resolve().parents[3]


def binary() -> str:
    return os.environ.get("TURNPIKE_BIN") or str(REPO / "build" / "release" / "turnpike")


def free_port() -> int:
    """A port that was free a moment ago (the kernel's pick for 127.0.0.1:0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(config: str, **values) -> str:
    """Dedents `config` and fills `$name` placeholders ($listen, $up, ...). Other `$` uses are
    left alone: turnpike's own `${NAME}` references, a regex's `$` anchor."""
    text = textwrap.dedent(config).strip("\n") + "\n"

    def fill(m: re.Match) -> str:
        if m[1] not in values:
            raise KeyError(f"no value for placeholder ${m[1]} in the test config")
        return str(values[m[1]])

    return re.sub(r"\$([A-Za-z_]\w*)", fill, text)


class Gateway:
    """One turnpike process. `all_running` lists the live ones (for failure reports)."""

    all_running: list["Gateway"] = []

    def __init__(self, workdir: Path, config: str, workers: int = 1, extra_args=(),
                 env: Optional[dict] = None, preexec_fn=None, **values):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.template = config
        self.values = values
        self.workers = workers
        self.extra_args = list(extra_args)
        self.env = env
        self.preexec_fn = preexec_fn  # run in the child before exec (e.g. to lower a limit)
        self.proc: Optional[subprocess.Popen] = None
        self.port = 0
        self.admin_port = 0
        self.writes = 0
        self.ready_at = 0.0
        self.returncode: Optional[int] = None
        self.config_path = self.workdir / "turnpike.yaml"
        self.stdout_path = self.workdir / "stdout.log"
        self.stderr_path = self.workdir / "stderr.log"

    # -- lifecycle -------------------------------------------------------------------------

    def config_text(self, port: int, template: Optional[str] = None, **values) -> str:
        """`template` (default: the one the gateway started with) rendered for this gateway:
        `$listen`, `$port`, `$admin`, `$admin_port` and the placeholders given at creation,
        overridden by `values`."""
        merged = {"listen": f"127.0.0.1:{port}", "port": port,
                  "admin": f"127.0.0.1:{self.admin_port}", "admin_port": self.admin_port,
                  **self.values, **values}
        text = render(self.template if template is None else template, **merged)
        if not re.search(r"^server:", text, re.M):
            text = (f"server:\n  listeners: [{{name: public, address: \"127.0.0.1:{port}\"}}]\n"
                    + text)
        return text

    def start(self, attempts: int = 4) -> "Gateway":
        """Starts and waits until the listener accepts. A port taken between our pick and
        turnpike's bind (other test runs share the machine) gets another try on a new port."""
        for attempt in range(attempts):
            self.launch()
            if self._wait_ready():
                self.ready_at = time.monotonic()
                return self
            in_use = "in use" in self.logs()
            if not (in_use and attempt + 1 < attempts):
                raise RuntimeError(
                    f"turnpike did not start (exit {self.proc.returncode}); "
                    f"config:\n{self.config_path.read_text()}\n{self.logs()}")
        raise AssertionError("unreachable")

    def launch(self, port: Optional[int] = None) -> "Gateway":
        """Writes the config for `port` (default: a free one) and spawns the process without
        waiting for it to listen (for tests of failing start-ups)."""
        self.port = port or free_port()
        self.admin_port = free_port() if self.uses_admin() else 0
        self.config_path.write_text(self.config_text(self.port))
        self._spawn()
        return self

    def _spawn(self) -> None:
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        self.stdout_file = open(self.stdout_path, "ab")
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [binary(), "--config", str(self.config_path), "--workers", str(self.workers),
             *self.extra_args],
            stdout=self.stdout_file, stderr=self.stderr_file, stdin=subprocess.DEVNULL,
            cwd=self.workdir, env=env, preexec_fn=self.preexec_fn)
        Gateway.all_running.append(self)

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._forget()
                return False
            if client.port_accepts(self.port) and (
                    not self.admin_port or client.port_accepts(self.admin_port)):
                return True
            time.sleep(0.01)
        self.stop(sig=signal.SIGKILL)
        raise RuntimeError(f"turnpike not accepting on {self.port} after {START_TIMEOUT}s\n"
                           f"{self.logs()}")

    def send_signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float) -> Optional[int]:
        """The exit code, or None when still running after `timeout`."""
        try:
            self.returncode = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._forget()
        return self.returncode

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> Optional[int]:
        """Sends `sig` to the process (by PID), then SIGKILL after `timeout`. Returns the exit
        code (negative: killed by that signal)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        self.returncode = self.proc.returncode
        self._forget()
        return self.returncode

    def _forget(self) -> None:
        if self in Gateway.all_running:
            Gateway.all_running.remove(self)
        for f in (getattr(self, "stdout_file", None), getattr(self, "stderr_file", None)):
            if f and not f.closed:
                f.close()

    # -- reloads ---------------------------------------------------------------------------

    def uses_admin(self) -> bool:
        return bool(re.search(r"\$admin(_port)?\b", self.template))

    def write_config(self, template: Optional[str] = None, atomic: bool = True,
                     **values) -> str:
        """Rewrites the config file the gateway watches: `atomic` writes a temp file in the same
        directory and renames it over the config; otherwise the file is truncated and written in
        place (one write). Returns the text written."""
        text = self.config_text(self.port, template, **values)
        self.write_config_text(text, atomic=atomic)
        return text

    def write_config_text(self, text: str, atomic: bool = True) -> None:
        if self.ready_at:
            time.sleep(max(0.0, self.ready_at + WATCH_SETTLE - time.monotonic()))
        self.writes += 1
        if atomic:
            tmp = self.config_path.with_name(f".{self.config_path.name}.tmp{self.writes}")
            with open(tmp, "w") as f:
                f.write(text)
            os.replace(tmp, self.config_path)
        else:
            with open(self.config_path, "w") as f:
                f.write(text)

    def admin(self, token: Optional[str] = None):
        """A client for this gateway's admin listener (the config must use `$admin`)."""
        from .admin import Admin
        assert self.admin_port, "this gateway's config has no $admin address"
        return Admin(self.admin_port, token=token)

    # -- logs ------------------------------------------------------------------------------

    def access_lines(self, source: str = "stdout") -> list[dict]:
        """Access log lines (JSON objects with a request_id key) written so far to stdout or
        stderr (or to a file path)."""
        path = {"stdout": self.stdout_path, "stderr": self.stderr_path}.get(source, source)
        return logs.access_lines(path)

    def wait_access_log(self, request_ids, source: str = "stdout",
                        timeout: float = logs.WAIT) -> dict[str, dict]:
        """Waits until a line for every id in `request_ids` was written; returns them by id."""
        path = {"stdout": self.stdout_path, "stderr": self.stderr_path}.get(source, source)
        return logs.wait_for_ids(path, request_ids, timeout=timeout)

    # -- inspection ------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_bytes(self) -> int:
        """VmRSS of the process, from /proc/PID/status."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS line")

    def logs(self, tail: int = 60) -> str:
        def last(path: Path) -> str:
            if not path.exists():
                return "(none)"
            lines = path.read_text(errors="replace").splitlines()
            return "\n".join(lines[-tail:])
        return (f"--- turnpike pid {self.proc.pid if self.proc else '-'} port {self.port}; "
                f"config {self.config_path}\n--- stdout ({self.stdout_path}):\n"
                f"{last(self.stdout_path)}\n--- stderr ({self.stderr_path}):\n"
                f"{last(self.stderr_path)}")

    # -- requests --------------------------------------------------------------------------

    def request(self, *args, **kwargs) -> client.Response:
        """client.request on a fresh connection to this gateway."""
        return client.request(self.port, *args, **kwargs)

    def send_raw(self, data: bytes, **kwargs) -> client.Response:
        return client.send_raw(self.port, data, **kwargs)

    def conn(self, timeout: float = client.DEFAULT_TIMEOUT) -> client.Conn:
        return client.Conn(self.port, timeout=timeout)


def run_cli(*args: str, timeout: float = 10.0, cwd=None) -> subprocess.CompletedProcess:
    """`turnpike ARGS...` to completion (with a deadline)."""
    return subprocess.run([binary(), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, stdin=subprocess.DEVNULL)


def validate_plugin(tmp_path: Path, plugin: str, block: str) -> subprocess.CompletedProcess:
    """`turnpike validate` of a one-route config (routes[0]) whose route has `plugin: block`."""
    path = tmp_path / "gw.yaml"
    path.write_text(f"""
server:
  listeners: [{{name: public, address: "127.0.0.1:1"}}]
routes:
  - name: r
    path: /x
    upstream: builtin:echo
    plugins:
      {plugin}: {block}
""")
    return run_cli("validate", "--config", str(path))
