"""What one bench run produced, and the statistics over it (medians, same-round ratios)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from .idle import IdleResult


@dataclass
class RunResult:
    """One wrk run against one target in one round."""
    target: str
    round: int                 # 1-based
    position: int              # 1-based place of this run within its round
    requests: int
    seconds: float
    rps: float
    p50_us: float | None
    p99_us: float | None
    cpu_s: float | None        # proxy utime+stime over the wrk run (all its processes)
    origin_cpu_s: float | None = None  # the origin's, same window: a control for machine noise
    problems: list[str] = field(default_factory=list)
    raw: str = ""              # wrk output file, relative to the bench dir

    @property
    def flagged(self) -> bool:
        return bool(self.problems)

    @property
    def cpu_us_per_req(self) -> float | None:
        return self.cpu_s * 1e6 / self.requests if self.requests and self.cpu_s is not None else None

    @property
    def origin_cpu_us_per_req(self) -> float | None:
        return (self.origin_cpu_s * 1e6 / self.requests
                if self.requests and self.origin_cpu_s is not None else None)


@dataclass
class TargetInfo:
    name: str
    version: str = ""
    measured: bool = False
    reason: str = ""           # why it was not measured (or stopped being measured)
    port: int = 0
    pids: list[int] = field(default_factory=list)
    peak_rss_kb: int | None = None


@dataclass
class Bench:
    started: str
    finished: str = ""
    machine: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    params: dict[str, object] = field(default_factory=dict)
    targets: dict[str, TargetInfo] = field(default_factory=dict)
    orders: list[list[str]] = field(default_factory=list)     # per round
    runs: list[RunResult] = field(default_factory=list)
    idle: dict[str, IdleResult] = field(default_factory=dict)
    noise: dict[str, str] = field(default_factory=dict)       # load average, steal

    # -- lookups --------------------------------------------------------------
    def measured(self) -> list[str]:
        return [t for t in self.targets if self.targets[t].measured or self.runs_of(t)]

    def runs_of(self, target: str) -> list[RunResult]:
        return [r for r in self.runs if r.target == target]

    def run_at(self, target: str, rnd: int) -> RunResult | None:
        for r in self.runs:
            if r.target == target and r.round == rnd:
                return r
        return None


# Metrics: key -> (title, unit, getter, higher_is_better; None for the control)
METRICS = {
    "cpu": ("CPU µs per request — the primary figure", "µs/req", lambda r: r.cpu_us_per_req, False),
    "rps": ("Requests per second", "req/s", lambda r: r.rps, True),
    "p50": ("p50 latency", "ms", lambda r: None if r.p50_us is None else r.p50_us / 1000, False),
    "p99": ("p99 latency", "ms", lambda r: None if r.p99_us is None else r.p99_us / 1000, False),
    "origin": ("Origin CPU µs per request — control: the same work whichever proxy is in front",
               "µs/req", lambda r: r.origin_cpu_us_per_req, None),
}
RATIO_METRICS = ("rps", "cpu", "p99")


@dataclass
class Median:
    value: float | None
    used: int                  # runs that went into it
    excluded: int              # flagged runs left out
    all_flagged: bool = False  # no clean run: the median is over flagged runs


def median_of(bench: Bench, target: str, metric: str) -> Median:
    get = METRICS[metric][2]
    runs = bench.runs_of(target)
    clean = [get(r) for r in runs if not r.flagged and get(r) is not None]
    if clean:
        return Median(statistics.median(clean), len(clean), len(runs) - len(clean))
    dirty = [get(r) for r in runs if get(r) is not None]
    if dirty:
        return Median(statistics.median(dirty), len(dirty), 0, all_flagged=True)
    return Median(None, 0, len(runs))


def round_ratios(bench: Bench, target: str, metric: str, base: str = "nginx") -> dict[int, float]:
    """target/base per round, only for rounds where both runs are clean."""
    get = METRICS[metric][2]
    out = {}
    for rnd in range(1, len(bench.orders) + 1):
        a, b = bench.run_at(target, rnd), bench.run_at(base, rnd)
        if a and b and not a.flagged and not b.flagged:
            va, vb = get(a), get(b)
            if va is not None and vb:
                out[rnd] = va / vb
    return out


def median_ratio(bench: Bench, target: str, metric: str, base: str = "nginx") -> float | None:
    rs = round_ratios(bench, target, metric, base)
    return statistics.median(rs.values()) if rs else None
