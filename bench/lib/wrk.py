"""Running wrk and reading its `--latency` report."""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_UNITS_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def to_us(text: str) -> float:
    """'569.00us' / '1.40ms' / '2.01s' / '1.00m' -> microseconds."""
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(m.group(1)) * _UNITS_US[m.group(2)]


@dataclass
class WrkReport:
    requests: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    percentiles_us: dict[int, float] = field(default_factory=dict)   # 50 -> p50 ...
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)      # connect/read/write/timeout
    exit_code: int = 0

    @property
    def error_count(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def problems(self) -> list[str]:
        out = []
        if self.exit_code != 0:
            out.append(f"wrk exit code {self.exit_code}")
        if self.requests == 0:
            out.append("no requests completed")
        if self.non_2xx_3xx:
            out.append(f"{self.non_2xx_3xx} non-2xx/3xx responses")
        errs = {k: v for k, v in self.socket_errors.items() if v}
        if errs:
            out.append("socket errors " + ", ".join(f"{k} {v}" for k, v in errs.items()))
        for p in (50, 99):
            if p not in self.percentiles_us:
                out.append(f"no p{p} in wrk output")
        return out


def parse(text: str) -> WrkReport:
    r = WrkReport()
    if m := re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", text, re.M):
        r.requests = int(m.group(1))
        r.seconds = to_us(m.group(2) + m.group(3)) / 1e6
    if m := re.search(r"^Requests/sec:\s*([\d.]+)", text, re.M):
        r.rps = float(m.group(1))
    dist = re.search(r"Latency Distribution\n((?:\s+\d+%\s+\S+\n?)+)", text)
    if dist:
        for pm in re.finditer(r"(\d+)%\s+(\S+)", dist.group(1)):
            r.percentiles_us[int(pm.group(1))] = to_us(pm.group(2))
    if m := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text):
        r.non_2xx_3xx = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        r.socket_errors = dict(zip(("connect", "read", "write", "timeout"), map(int, m.groups())))
    return r


def run(url: str, *, threads: int, connections: int, seconds: float, raw_out: Path | None,
        timeout_s: str = "2s", cpus: str | None = None) -> WrkReport:
    """Run wrk (keep-alive, --latency) for `seconds`; save its raw output if asked."""
    argv = (["taskset", "-c", cpus] if cpus else []) + ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
            f"--timeout={timeout_s}", "--latency", url]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
        text, code = p.stdout + (("\n[stderr]\n" + p.stderr) if p.stderr.strip() else ""), p.returncode
    except subprocess.TimeoutExpired as e:
        partial = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        text, code = f"wrk did not finish within {seconds + 60:.0f} s\n{partial}", -1
    if raw_out is not None:
        raw_out.parent.mkdir(parents=True, exist_ok=True)
        raw_out.write_text("$ " + " ".join(argv) + "\n" + text)
    report = parse(text)
    report.exit_code = code
    return report
