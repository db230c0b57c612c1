#!/usr/bin/env python3
"""Reload benchmark: how long turnpike takes to parse, compile and swap a configuration of
10,000 routes, and what a reload does to the latency of requests in flight.

Steps: start an origin (nginx) and turnpike (one worker, admin API on) with a generated
10,000-route configuration; measure p50/p99 with wrk for a while (before); then run wrk again
while the configuration is replaced through POST /config once a second (each time a real change),
and measure again (during). turnpike logs parse_ms, compile_ms and swap_ms for every applied
configuration; the POST round trip is measured here. Writes bench/RELOAD.md.

  /usr/bin/python3 bench/reload.py --turnpike build/release/turnpike [--routes 10000]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lib import targets, wrk  # noqa: E402
from lib.procs import Server, free_port  # noqa: E402


def routes_yaml(n: int, variant: int) -> str:
    """n routes: static prefixes, named segments, wildcards, a few hosts; `variant` renames one
    route so that every reload is a real change."""
    lines = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            path = f"/svc{i}/v1/**"
        elif kind == 1:
            path = f"/api/{i}/users/{{id}}"
        elif kind == 2:
            path = f"/files/{i}/*/meta"
        else:
            path = f"/exact/{i}"
        host = f'\n    hosts: ["h{i % 50}.example.com"]' if i % 10 == 0 else ""
        name = f"r{i}" if i != 1 else f"r1-v{variant}"
        lines.append(f"  - name: {name}\n    paths: [\"{path}\"]{host}\n    upstream: origin")
    return "\n".join(lines)


def config_text(port: int, admin_port: int, origin_port: int, n: int, variant: int) -> str:
    return f"""server:
  workers: 1
  listeners: [{{name: bench, address: "127.0.0.1:{port}"}}]
admin: {{address: "127.0.0.1:{admin_port}"}}
logging: {{level: info, access_log: {{path: "off"}}}}
upstreams:
  origin:
    targets: [{{address: "127.0.0.1:{origin_port}"}}]
    keepalive: {{max_idle_per_worker: 256}}
routes:
  - {{name: bench, paths: ["/bench"], upstream: origin}}
{routes_yaml(n, variant)}
"""


def post_config(admin_port: int, text: str) -> tuple[float, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{admin_port}/config", data=text.encode(),
                                     method="POST", headers={"Content-Type": "application/yaml"})
    start = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    return (time.monotonic() - start) * 1000, body


def applied_lines(log: Path) -> list[dict]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "configuration applied":
            out.append(entry)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--turnpike", default=str(HERE.parent / "build/release/turnpike"))
    ap.add_argument("--routes", type=int, default=10000)
    ap.add_argument("--seconds", type=int, default=10, help="each wrk run (before, during)")
    ap.add_argument("--out", default=str(HERE / "out" / "reload"))
    ap.add_argument("--results", default=str(HERE / "RELOAD.md"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    started: list[Server] = []
    try:
        origin = targets.origin_server(out)
        started.append(origin)
        if not targets.start_and_wait(origin, "/bench", 20).ok:
            sys.exit("reload bench: the origin did not start")
        port, admin_port = free_port(), free_port()
        conf = out / "turnpike.yaml"
        conf.write_text(config_text(port, admin_port, origin.port, args.routes, 0))
        gateway = Server("turnpike", [args.turnpike, "--config", str(conf)], out / "turnpike", port)
        started.append(gateway)
        if not targets.start_and_wait(gateway, "/bench", 60).ok:
            sys.exit(f"reload bench: turnpike did not start (see {out / 'turnpike'})")
        url = f"http://127.0.0.1:{port}/bench"
        wrk.run(url, threads=1, connections=50, seconds=2, raw_out=None)
        before = wrk.run(url, threads=1, connections=50, seconds=args.seconds,
                         raw_out=out / "wrk-before.txt")

        texts = [config_text(port, admin_port, origin.port, args.routes, v) for v in (1, 2)]
        posts: list[float] = []
        stop = threading.Event()

        def reloader() -> None:
            v = 0
            time.sleep(0.5)
            while not stop.is_set():
                ms, body = post_config(admin_port, texts[v % 2])
                if "generation" not in body:
                    raise SystemExit(f"reload bench: POST /config failed: {body}")
                posts.append(ms)
                v += 1
                stop.wait(1.0)

        thread = threading.Thread(target=reloader, daemon=True)
        thread.start()
        during = wrk.run(url, threads=1, connections=50, seconds=args.seconds,
                         raw_out=out / "wrk-during.txt")
        stop.set()
        thread.join(timeout=60)
        applied = applied_lines(out / "turnpike" / "stderr.log")[1:]  # [0] is none: start-up
    finally:
        for server in reversed(started):
            server.stop()

    def ms(key: str) -> list[float]:
        return [float(a[key]) for a in applied if key in a]

    parse, compile_, swap = ms("parse_ms"), ms("compile_ms"), ms("swap_ms")
    total = [c + s for c, s in zip(compile_, swap)]
    lines = [
        "# turnpike reload benchmark",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M:%S %z')}; `bench/reload.py --routes {args.routes}`; "
        "one worker; 2 shared, noisy cores.",
        "",
        f"A configuration of {args.routes:,} routes (static prefixes with `**`, named segments, "
        "`*` segments, exact paths, 1 in 10 with a host) is applied through `POST /config` once "
        "a second while wrk (`-t1 -c50`, keep-alive) drives a route that is in every version. "
        "turnpike logs each applied configuration's parse, compile and swap times.",
        "",
        "| step | median ms | max ms | runs |",
        "|---|---:|---:|---:|",
        f"| parse + validate (YAML -> model) | {statistics.median(parse):.1f} | {max(parse):.1f} | {len(parse)} |",
        f"| compile (router, upstreams) | {statistics.median(compile_):.1f} | {max(compile_):.1f} | {len(compile_)} |",
        f"| swap (publish the snapshot) | {statistics.median(swap):.3f} | {max(swap):.3f} | {len(swap)} |",
        f"| **compile + swap** | **{statistics.median(total):.1f}** | {max(total):.1f} | {len(total)} |",
        f"| POST /config round trip | {statistics.median(posts):.1f} | {max(posts):.1f} | {len(posts)} |",
        "",
        "| wrk | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rep in (("before (no reload)", before), ("during (1 reload/s)", during)):
        lines.append(f"| {name} | {rep.rps:,.0f} | {rep.percentiles_us.get(50, 0) / 1000:.2f} | "
                     f"{rep.percentiles_us.get(99, 0) / 1000:.2f} | {rep.error_count} |")
    ratio = during.percentiles_us.get(99, 0) / max(before.percentiles_us.get(99, 1e-9), 1e-9)
    lines += ["", f"p99 during / before: **{ratio:.2f}x**.", ""]
    Path(args.results).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
