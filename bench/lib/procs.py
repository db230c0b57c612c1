"""Processes the bench starts itself, free ports, and what /proc says about them.

Every server is started by `Server.start()` in its own session (so a Ctrl-C on the
terminal reaches only this script, which then stops them in order) and is stopped
by PID only: `Server.stop()` signals the PID it started and, for nginx, the worker
PIDs that master forked.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A port the kernel considers free right now (bind to 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------
# /proc readers
# ---------------------------------------------------------------------------

def cpu_ticks(pid: int) -> int:
    """utime + stime of a process (all its threads, live and exited), in clock ticks."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    # The command name (field 2) may contain spaces: split after its closing ')'.
    fields = data[data.rindex(b")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return int(fields[11]) + int(fields[12])


def status_kb(pid: int, key: str) -> int:
    """A `kB` value from /proc/PID/status (VmRSS, VmHWM, ...)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(f"{key} not in /proc/{pid}/status")


def children_of(ppid: int) -> list[int]:
    """PIDs whose parent is ppid (scan of /proc; /proc/PID/task/*/children may be absent)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(b")") + 2:].split()
        if int(fields[1]) == ppid:  # field 4: ppid
            out.append(int(name))
    return sorted(out)


# ---------------------------------------------------------------------------
# Server processes
# ---------------------------------------------------------------------------

@dataclass
class Server:
    """One server process (and, for nginx, its workers) that the bench started."""
    name: str
    argv: list[str]
    workdir: Path
    port: int
    has_workers: bool = False          # nginx: master + forked workers
    proc: subprocess.Popen | None = None
    worker_pids: list[int] = field(default_factory=list)
    started_at: float = 0.0
    cpus: str | None = None            # taskset CPU list, e.g. "1" (None: not pinned)
    query: str = ""                    # added to every request's target (credentials)

    # -- lifecycle ----------------------------------------------------------
    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        out = open(self.workdir / "stdout.log", "wb")
        err = open(self.workdir / "stderr.log", "wb")
        try:
            argv = (["taskset", "-c", self.cpus] if self.cpus else []) + self.argv
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                cwd=self.workdir, start_new_session=True)
        finally:
            out.close()
            err.close()
        self.started_at = time.monotonic()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def exit_description(self) -> str:
        if self.proc is None:
            return "not started"
        rc = self.proc.poll()
        if rc is None:
            return "running"
        how = f"killed by signal {-rc}" if rc < 0 else f"exited with code {rc}"
        return f"{how} {time.monotonic() - self.started_at:.1f} s after start"

    def stderr_tail(self, lines: int = 8) -> str:
        text = ""
        for name in ("stderr.log", "stdout.log", "error.log"):
            p = self.workdir / name
            if p.exists():
                text += p.read_text(errors="replace")
        return "\n".join(text.strip().splitlines()[-lines:])

    def discover_workers(self) -> None:
        """nginx: remember the workers the master forked (they are ours to stop too)."""
        if self.has_workers and self.alive():
            self.worker_pids = children_of(self.proc.pid)

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.discover_workers()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        # Workers of a master that had to be killed may still run: stop them by PID,
        # after checking that the PID still belongs to a child of our (now gone) master.
        for pid in self.worker_pids:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if not f.read().startswith(b"nginx: worker"):
                        continue
                os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass

    # -- measurement --------------------------------------------------------
    def pids(self) -> list[int]:
        """The PIDs whose CPU and memory count as this server's."""
        if self.proc is None:
            return []
        return [self.proc.pid] + (self.worker_pids if self.has_workers else [])

    def cpu_ticks(self) -> int:
        return sum(cpu_ticks(p) for p in self.pids())

    def rss_kb(self) -> int:
        return sum(status_kb(p, "VmRSS") for p in self.pids())

    def hwm_kb(self) -> int:
        return sum(status_kb(p, "VmHWM") for p in self.pids())
