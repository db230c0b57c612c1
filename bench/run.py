#!/usr/bin/python3
"""Side-by-side bench: turnpike vs nginx vs HAProxy, each proxying to one nginx origin.

    /usr/bin/python3 bench/run.py --turnpike build/release/turnpike [--quick]

Steps (one function each below): start the origin, start the proxies, alternate wrk
runs over the proxies in rounds (req/s, latency, CPU µs per request), read peak RSS,
measure memory per idle keep-alive connection, stop everything we started, then write
bench/RESULTS.md and print a summary. See bench/README.md for what the figures mean.
Python 3.11 standard library only.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from lib import idle, report, targets, wrk  # noqa: E402
from lib.procs import CLK_TCK, Server  # noqa: E402
from lib.results import Bench, RunResult, TargetInfo  # noqa: E402

DEFAULTS = dict(rounds=5, duration=8, warmup=2, idle_conns=2000)
QUICK = dict(rounds=3, duration=4, warmup=1, idle_conns=2000)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turnpike", default=str(BENCH_DIR.parent / "build/release/turnpike"),
                    help="turnpike binary (default: build/release/turnpike)")
    ap.add_argument("--targets", default=",".join(targets.PROXIES),
                    help="comma-separated subset of nginx,haproxy,turnpike (default: all)")
    ap.add_argument("--quick", action="store_true",
                    help=f"about one minute: {QUICK['rounds']} rounds of {QUICK['duration']} s, "
                         f"{QUICK['warmup']} s warm-up")
    ap.add_argument("--rounds", type=int, help=f"rounds (default {DEFAULTS['rounds']})")
    ap.add_argument("--duration", type=int, help=f"seconds per measured wrk run (default {DEFAULTS['duration']})")
    ap.add_argument("--warmup", type=int, help=f"seconds of discarded wrk warm-up before each run "
                                               f"(default {DEFAULTS['warmup']}; 0 = none)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    ap.add_argument("--path", default="/bench", help="request path (default /bench)")
    ap.add_argument("--no-pin", action="store_true",
                    help="do not pin processes to CPUs (default on 2+ CPUs: the proxy under test "
                         "on CPU 1, wrk and the origin on CPU 0, so the proxy's CPU time is not "
                         "shared with the load it serves)")
    ap.add_argument("--idle-conns", type=int, help=f"idle keep-alive connections for the memory test "
                                                   f"(default {DEFAULTS['idle_conns']}; 0 = skip)")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds to settle before reading RSS (default 1)")
    ap.add_argument("--ready-timeout", type=float, default=15.0,
                    help="seconds a server gets to answer 200 after start (default 15)")
    ap.add_argument("--out", default=str(BENCH_DIR / "out"), help="raw outputs and rendered configs (default bench/out)")
    ap.add_argument("--results", default=str(BENCH_DIR / "RESULTS.md"), help="report file (default bench/RESULTS.md)")
    args = ap.parse_args(argv)
    base = QUICK if args.quick else DEFAULTS
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = set(args.targets) - set(targets.PROXIES)
    if unknown:
        ap.error(f"unknown targets {sorted(unknown)}")
    if args.rounds < 1 or args.duration < 1:
        ap.error("--rounds and --duration must be at least 1")
    return args


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------

def machine_info() -> dict[str, str]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"nproc": str(os.cpu_count()), "kernel": os.uname().release, "cpu_model": model,
            "mem_total": mem, "hostname": os.uname().nodename}


def loadavg() -> str:
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def cpu_times() -> list[int]:
    """Aggregate /proc/stat cpu line: user nice system idle iowait irq softirq steal ..."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def check_tools(names: list[str]) -> None:
    missing = [n for n in ["wrk", "nginx"] + [n for n in names if n == "haproxy"] if shutil.which(n) is None]
    if missing:
        sys.exit(f"bench: missing {', '.join(missing)}; run scripts/install-deps.sh")


def pinning(args) -> tuple[str | None, str | None]:
    """CPU lists for (proxy, load generator + origin), or Nones when not pinning."""
    if args.no_pin or (os.cpu_count() or 1) < 2:
        return None, None
    return "1", "0"


def start_origin(out: Path, args, started: list[Server]) -> Server:
    origin = targets.origin_server(out)
    origin.cpus = pinning(args)[1]
    started.append(origin)
    outcome = targets.start_and_wait(origin, args.path, args.ready_timeout)
    if not outcome.ok:
        raise SystemExit(f"bench: the origin nginx did not start: {outcome.reason}")
    log(f"origin nginx on 127.0.0.1:{origin.port} (pids {origin.pids()})")
    return origin


def start_proxies(bench: Bench, out: Path, origin: Server, nofile: int, args,
                  started: list[Server]) -> dict[str, Server]:
    servers = {}
    for name in args.targets:
        server = targets.proxy_server(name, out, origin.port, nofile, args.idle_conns + 1024,
                                      args.turnpike)
        server.cpus = pinning(args)[0]
        info = bench.targets[name]
        info.port = server.port
        started.append(server)
        outcome = targets.start_and_wait(server, args.path, args.ready_timeout)
        if outcome.ok:
            info.measured = True
            info.pids = server.pids()
            servers[name] = server
            log(f"{name} on 127.0.0.1:{server.port} (pids {server.pids()})")
        else:
            info.reason = outcome.reason
            log(f"{name} WILL NOT BE MEASURED: {outcome.reason}")
    return servers


def measure_one(server: Server, origin: Server, rnd: int, position: int, out: Path, args) -> RunResult:
    url = f"http://127.0.0.1:{server.port}{args.path}"
    if server.query:
        url += ("&" if "?" in args.path else "?") + server.query
    if args.warmup > 0:
        wrk.run(url, threads=args.threads, connections=args.connections, seconds=args.warmup,
                raw_out=None, cpus=pinning(args)[1])
    raw = out / "wrk" / f"round{rnd}-{server.name}.txt"
    problems = []
    server.discover_workers()
    try:
        before, origin_before = server.cpu_ticks(), origin.cpu_ticks()
    except OSError:   # the proxy (or origin) died during the warm-up
        before = origin_before = 0
        problems.append("a proxy or origin process was gone before the run")
    rep = wrk.run(url, threads=args.threads, connections=args.connections, seconds=args.duration,
                  raw_out=raw, cpus=pinning(args)[1])
    try:
        after, origin_after = server.cpu_ticks(), origin.cpu_ticks()
    except OSError:   # a process we sampled before the run is gone
        after, origin_after = before, origin_before
        problems.append("a proxy or origin process was gone after the run (CPU not measured)")
    if not server.alive():
        problems.append(f"proxy {server.exit_description()}")
    cpu_ok = not problems     # a process came or went: no trustworthy CPU window
    problems += rep.problems()
    return RunResult(
        target=server.name, round=rnd, position=position, requests=rep.requests,
        seconds=rep.seconds, rps=rep.rps, p50_us=rep.percentiles_us.get(50),
        p99_us=rep.percentiles_us.get(99),
        cpu_s=(after - before) / CLK_TCK if cpu_ok else None,
        origin_cpu_s=(origin_after - origin_before) / CLK_TCK if cpu_ok else None,
        problems=problems, raw=str(raw.relative_to(BENCH_DIR)) if raw.is_relative_to(BENCH_DIR) else str(raw))


def run_rounds(bench: Bench, servers: dict[str, Server], origin: Server, out: Path, args) -> None:
    names = list(servers)
    t0 = cpu_times()
    for rnd in range(1, args.rounds + 1):
        shift = (rnd - 1) % len(names)
        order = [n for n in names[shift:] + names[:shift] if servers[n].alive()]
        bench.orders.append(order)
        for position, name in enumerate(order, 1):
            result = measure_one(servers[name], origin, rnd, position, out, args)
            bench.runs.append(result)
            cpu = result.cpu_us_per_req
            log(f"round {rnd}/{args.rounds} {name:<8} {result.rps:>10,.0f} req/s  "
                f"{'—' if cpu is None else f'{cpu:6.2f}'} CPU µs/req  "
                f"p99 {'—' if result.p99_us is None else f'{result.p99_us / 1000:.2f} ms'}"
                + (f"  FLAGGED: {'; '.join(result.problems)}" if result.flagged else ""))
            if not servers[name].alive():
                bench.targets[name].reason = f"stopped being measured in round {rnd}: {servers[name].exit_description()}"
    t1 = cpu_times()
    delta = [b - a for a, b in zip(t0, t1)]
    if len(delta) > 7 and sum(delta):
        bench.noise["steal_pct"] = f"{100 * delta[7] / sum(delta):.1f} % of all CPU time"


def read_peak_rss(bench: Bench, servers: dict[str, Server]) -> None:
    for name, server in servers.items():
        if server.alive():
            server.discover_workers()
            bench.targets[name].peak_rss_kb = server.hwm_kb()


def run_idle(bench: Bench, servers: dict[str, Server], args) -> None:
    if args.idle_conns <= 0:
        return
    for name, server in servers.items():
        if not server.alive() or name in targets.VARIANTS:  # the same process model as turnpike
            continue
        log(f"idle test {name}: {args.idle_conns} keep-alive connections")
        try:
            res = idle.measure(server, args.idle_conns, args.path, args.settle)
        except OSError as e:   # e.g. the proxy died and /proc/PID is gone
            res = idle.IdleResult(name, args.idle_conns, error=f"{type(e).__name__}: {e}")
        bench.idle[name] = res
        bpc, marginal = res.bytes_per_conn, res.marginal_bytes_per_conn
        log(f"idle test {name}: {res.alive} held, RSS {res.rss_before_kb} -> {res.rss_half_kb} -> "
            f"{res.rss_after_kb} kB, {'—' if bpc is None else f'{bpc:,.0f}'} bytes/conn "
            f"(2nd half: {'—' if marginal is None else f'{marginal:,.0f}'})"
            + (f"  ({'; '.join(res.problems())})" if res.problems() else ""))


def write_outputs(bench: Bench, out: Path, args) -> None:
    Path(args.results).write_text(report.markdown(bench))
    (out / "results.json").write_text(json.dumps(dataclasses.asdict(bench), indent=1, default=str))
    print()
    print(report.summary(bench))
    print(f"\nwrote {args.results} and {out / 'results.json'}; raw wrk outputs in {out / 'wrk'}")


def stop_all(started: list[Server]) -> None:
    for server in reversed(started):
        try:
            server.stop()
        except Exception as e:  # keep stopping the others
            log(f"could not stop {server.name} (pid {server.proc.pid if server.proc else '?'}): {e}")


# ---------------------------------------------------------------------------

def main(argv: list[str]) -> int:
    args = parse_args(argv)
    check_tools(args.targets)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    # Our idle-test sockets and the proxies (which inherit the limit) need one fd per
    # connection on each side, plus wrk's and the upstream pool's, with headroom.
    nofile = idle.raise_nofile(2 * args.idle_conns + 4096)
    if 2 * args.idle_conns + 2048 > nofile:
        fitting = max(0, (nofile - 2048) // 2)
        log(f"RLIMIT_NOFILE is {nofile}: lowering --idle-conns from {args.idle_conns} to {fitting}")
        args.idle_conns = fitting

    bench = Bench(started=dt.datetime.now().astimezone().isoformat(timespec="seconds"))
    bench.machine = machine_info()
    bench.versions = targets.versions(args.turnpike)
    bench.params = dict(quick=args.quick, rounds=args.rounds, duration=args.duration, warmup=args.warmup,
                        threads=args.threads, connections=args.connections, path=args.path,
                        idle_conns=args.idle_conns, settle_s=args.settle, clk_tck=CLK_TCK,
                        nofile=nofile, turnpike=args.turnpike,
                        pinning=("proxy under test on CPU 1; wrk and the origin on CPU 0"
                                 if pinning(args)[0] else "none"))
    bench.targets = {n: TargetInfo(n, version=bench.versions.get(n, "")) for n in args.targets}
    bench.noise["loadavg_before"] = loadavg()
    busy = float(bench.noise["loadavg_before"].split()[0])
    if busy > 0.5 * (os.cpu_count() or 1):
        log(f"note: load average {busy:.2f} on {os.cpu_count()} CPUs before starting: "
            "other work is running, figures will be noisier than usual")

    # SIGTERM/SIGHUP behave like Ctrl-C: unwind through `finally` and stop what we started.
    def _interrupt(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)

    started: list[Server] = []
    try:
        origin = start_origin(out, args, started)
        servers = start_proxies(bench, out, origin, nofile, args, started)
        if not servers:
            log("no proxy answered; nothing to measure")
        else:
            run_rounds(bench, servers, origin, out, args)
            read_peak_rss(bench, servers)
            run_idle(bench, servers, args)
    except KeyboardInterrupt:
        log("interrupted: stopping the servers this run started")
        return 130
    finally:
        stop_all(started)
    bench.noise["loadavg_after"] = loadavg()
    bench.finished = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    write_outputs(bench, out, args)
    return 0 if bench.runs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
