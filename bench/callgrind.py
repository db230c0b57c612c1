#!/usr/bin/python3
"""User-space instructions per proxied request, counted by callgrind: the deterministic
cross-check of the side-by-side bench (which measures CPU time on a noisy machine).

turnpike runs under `valgrind --tool=callgrind` in front of the bench's nginx origin; one
keep-alive client sends N requests. Two runs (N_SMALL and N_LARGE requests) are made and the
difference of their instruction totals divided by the difference of N is the cost of one request
with start-up, reload and shutdown cancelled out.

    bench/callgrind.py --turnpike build/release/turnpike [--config turnpike.yaml] [--path /bench]
"""
from __future__ import annotations

import argparse
import shutil
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lib import http1  # noqa: E402
from lib.procs import free_port  # noqa: E402
from lib.targets import auth_material, origin_server, render  # noqa: E402

N_SMALL = 500
N_LARGE = 3000


def run_once(turnpike: str, template: str, path: str, origin_port: int, n: int,
             work: Path) -> int:
    port = free_port()
    extra = {}
    if template == "turnpike-auth.yaml":  # a key pair, and credentials in the query
        extra["PUBLIC_KEY"], query = auth_material(work)
        path += ("&" if "?" in path else "?") + query
    conf = render(template, work / f"turnpike-{n}.yaml", PORT=port, ORIGIN_PORT=origin_port,
                  PREFIX=work, NOFILE=4096, MAXCONN=1024, **extra)
    out = work / f"callgrind-{n}.out"
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", turnpike, "--config",
         str(conf), "--workers", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        ok, why = http1.wait_ready(port, path, 60.0, alive=lambda: proc.poll() is None)
        if not ok:
            raise RuntimeError(f"turnpike did not start under valgrind: {why}")
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            for _ in range(n):
                status, _, _ = http1.get(sock, port, path)
                if status != 200:
                    raise RuntimeError(f"status {status}")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=120)
    match = re.search(rb"Collected : (\d+)", err)
    if not match:
        raise RuntimeError("no callgrind total in valgrind's output:\n" + err.decode()[-2000:])
    return int(match.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turnpike", required=True)
    ap.add_argument("--config", default="turnpike.yaml",
                    help="a template in bench/conf/ ({{PORT}}, {{ORIGIN_PORT}})")
    ap.add_argument("--path", default="/bench",
                    help="the request target sent (a key for key_auth goes in its query)")
    ap.add_argument("--keep", help="copy the callgrind outputs here (for callgrind_annotate)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="turnpike-callgrind-") as tmp:
        work = Path(tmp)
        origin = origin_server(work)
        origin.start()
        try:
            ok, why = http1.wait_ready(origin.port, "/", 10.0, alive=origin.alive)
            if not ok:
                raise RuntimeError(f"origin did not start: {why}")
            small = run_once(args.turnpike, args.config, args.path, origin.port, N_SMALL, work)
            large = run_once(args.turnpike, args.config, args.path, origin.port, N_LARGE, work)
            if args.keep:
                Path(args.keep).mkdir(parents=True, exist_ok=True)
                for out in work.glob("callgrind-*.out"):
                    shutil.copy(out, Path(args.keep) / out.name)
        finally:
            origin.stop()
    per_request = (large - small) / (N_LARGE - N_SMALL)
    print(f"{args.config}: {per_request:,.0f} instructions per proxied request "
          f"({small:,} for {N_SMALL}, {large:,} for {N_LARGE})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
