"""bench/RESULTS.md and the stdout summary."""
from __future__ import annotations

from .results import (METRICS, RATIO_METRICS, Bench, median_of, median_ratio,
                      round_ratios)
from .targets import VARIANTS


def fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "—"
    if metric == "rps":
        return f"{v:,.0f}"
    return f"{v:.2f}"


def fmt_bytes(v: float | None) -> str:
    return "—" if v is None else f"{v:,.0f}"


def fmt_mb(kb: int | None) -> str:
    return "—" if kb is None else f"{kb / 1024:.1f}"


def not_measured(bench: Bench) -> list[tuple[str, str]]:
    return [(t, i.reason) for t, i in bench.targets.items() if not bench.runs_of(t)]


# ---------------------------------------------------------------------------
# RESULTS.md
# ---------------------------------------------------------------------------

def _metric_table(bench: Bench, metric: str) -> list[str]:
    title, unit, get, higher = METRICS[metric]
    rounds = range(1, len(bench.orders) + 1)
    better = "" if higher is None else f", {'higher' if higher else 'lower'} is better"
    lines = [f"### {title} ({unit}{better})", "",
             "| target | " + " | ".join(f"round {r}" for r in rounds) + " | median |",
             "|---|" + "---:|" * (len(rounds) + 1)]
    notes = []
    for t in bench.measured():
        cells = []
        for r in rounds:
            run = bench.run_at(t, r)
            if run is None:
                cells.append("—")
            elif run.flagged:
                cells.append(fmt(metric, get(run)) + " ⚠")
            else:
                cells.append(fmt(metric, get(run)))
        m = median_of(bench, t, metric)
        med = f"**{fmt(metric, m.value)}**"
        if m.all_flagged:
            med += " ⚠ (all runs flagged)"
        elif m.excluded:
            notes.append(f"{t}: median over {m.used} clean runs ({m.excluded} flagged left out)")
        lines.append(f"| {t} | " + " | ".join(cells) + f" | {med} |")
    lines.append("")
    if notes:
        lines += ["_" + "; ".join(notes) + "._", ""]
    return lines


def _ratio_table(bench: Bench) -> list[str]:
    rounds = range(1, len(bench.orders) + 1)
    others = [t for t in bench.measured() if t != "nginx"]
    lines = ["## Same-round ratios to nginx", "",
             "Each cell divides a target's figure by nginx's figure **from the same round** (the runs "
             "were seconds apart, under the same background load); the last column is the median of "
             "those per-round ratios. Rounds where either run was flagged are left out (—).", "",
             "| ratio | metric | " + " | ".join(f"round {r}" for r in rounds) + " | median |",
             "|---|---|" + "---:|" * (len(rounds) + 1)]
    if "nginx" not in bench.measured() or not others:
        lines = lines[:2] + ["No ratios: nginx and at least one other target must be measured.", ""]
    else:
        for t in others:
            for metric in RATIO_METRICS:
                rs = round_ratios(bench, t, metric)
                med = median_ratio(bench, t, metric)
                cells = [f"{rs[r]:.2f}" if r in rs else "—" for r in rounds]
                better = "higher" if METRICS[metric][3] else "lower"
                label = {"rps": "req/s", "cpu": "CPU µs/req", "p99": "p99 latency"}[metric]
                lines.append(f"| {t}/nginx | {label} ({better} is better) | " + " | ".join(cells)
                             + f" | **{'—' if med is None else f'{med:.2f}'}** |")
        lines.append("")
    for variant, (_, heading, adds, _) in VARIANTS.items():
        if not {"turnpike", variant} <= set(bench.measured()):
            continue
        lines += [f"## {heading}", "",
                  f"`{variant}` is turnpike with {adds}; each cell divides its figure by "
                  "turnpike's from the same round.", "",
                  "| ratio | metric | " + " | ".join(f"round {r}" for r in rounds) + " | median |",
                  "|---|---|" + "---:|" * (len(rounds) + 1)]
        for metric in RATIO_METRICS:
            rs = round_ratios(bench, variant, metric, base="turnpike")
            med = median_ratio(bench, variant, metric, base="turnpike")
            cells = [f"{rs[r]:.2f}" if r in rs else "—" for r in rounds]
            label = {"rps": "req/s", "cpu": "CPU µs/req", "p99": "p99 latency"}[metric]
            lines.append(f"| {variant}/turnpike | {label} | " + " | ".join(cells)
                         + f" | **{'—' if med is None else f'{med:.2f}'}** |")
        lines.append("")
    return lines


def _idle_table(bench: Bench) -> list[str]:
    lines = ["## Memory per idle keep-alive client connection", "",
             f"{bench.params.get('idle_conns')} client connections opened to the proxy, one keep-alive "
             "GET answered on each, then all left idle; the proxy's VmRSS (summed over its processes) "
             f"read before opening and after {bench.params.get('settle_s')} s of idleness: "
             "**bytes per idle connection = (after − before) / N**. RSS is counted in 4 KiB pages and "
             "the proxy may first reuse memory it freed after the throughput rounds, so the figure is "
             "coarse below ~100 B; the marginal column, (RSS(N) − RSS(N/2)) / (N/2), is a cross-check "
             "that excludes that reuse.", "",
             "| target | connections held | RSS before (MB) | RSS after (MB) | bytes per idle connection "
             "| marginal, 2nd half | note |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for t, res in bench.idle.items():
        lines.append(f"| {t} | {res.alive}/{res.requested} | {fmt_mb(res.rss_before_kb)} | "
                     f"{fmt_mb(res.rss_after_kb)} | **{fmt_bytes(res.bytes_per_conn)}** | "
                     f"{fmt_bytes(res.marginal_bytes_per_conn)} | {'; '.join(res.problems()) or ''} |")
    for t, reason in not_measured(bench):
        lines.append(f"| {t} | — | — | — | — | — | not measured: {reason} |")
    lines.append("")
    return lines


def markdown(bench: Bench) -> str:
    p = bench.params
    m = bench.machine
    L = ["# turnpike bench results", "",
         f"Generated by `bench/run.py`{' --quick' if p.get('quick') else ''} on {bench.started} "
         f"(finished {bench.finished}). Raw wrk outputs: `bench/out/` (not committed).", ""]

    missing = not_measured(bench)
    if missing:
        L += ["> **Not measured:** " + "; ".join(f"**{t}** — {why}" for t, why in missing), ""]
    stopped = [(t, i.reason) for t, i in bench.targets.items() if bench.runs_of(t) and i.reason]
    if stopped:
        L += ["> **Stopped during the run:** " + "; ".join(f"**{t}** — {why}" for t, why in stopped), ""]

    L += ["## Machine", "",
          f"- CPU: {m.get('cpu_model')} — nproc {m.get('nproc')} (shared with everything else on the machine)",
          f"- Kernel: {m.get('kernel')}", f"- Memory: {m.get('mem_total')}",
          f"- Load average before/after: {bench.noise.get('loadavg_before')} / {bench.noise.get('loadavg_after')}",
          f"- CPU steal during the throughput rounds: {bench.noise.get('steal_pct', '—')}", "",
          "## Versions", ""]
    L += [f"- {k}: `{v}`" for k, v in bench.versions.items()]
    L += ["", "## Method", "",
          f"- One **origin** (nginx, 1 worker, keep-alive, answers every request with a fixed 100-byte "
          f"body) and three **proxies** in front of it, each with **one** worker/thread, keep-alive to the "
          f"client and pooled keep-alive connections to the origin, access logs off (configs: "
          f"`bench/conf/`, rendered copies under `bench/out/`). All started by the script on 127.0.0.1.",
          f"- Load: `wrk -t{p['threads']} -c{p['connections']} -d{p['duration']}s --latency` "
          f"(keep-alive) on `{p['path']}`, after a {p['warmup']} s warm-up run that is discarded.",
          f"- CPU pinning: {p.get('pinning', 'none')}.",
          f"- {p['rounds']} rounds; each round runs every target once, and the order rotates from round "
          f"to round so no target is always first or last.",
          "- **CPU µs per request is the primary figure**: utime+stime of the proxy's processes "
          "(nginx: master + worker) from `/proc/PID/stat`, read right before and right after the wrk "
          f"run, divided by the requests wrk completed (clock tick = {p.get('clk_tck')} Hz). It measures "
          "the proxy's own cost and is much less sensitive to the load of the machine than req/s, "
          "though not immune to it (contention means fewer events per wakeup and colder caches).",
          "- req/s and latency come from wrk. **The machine has 2 shared cores and is noisy**: wrk, "
          "the origin and the proxy compete for them, so req/s and latencies depend on scheduling and "
          "on whatever else runs. Compare targets through the same-round ratios, not across runs of "
          "the bench.",
          "- A run with non-2xx/3xx responses, socket errors, a wrk failure or a proxy that died is "
          "**flagged** (⚠) and left out of the medians and ratios; it is still shown.",
          "- The origin's CPU µs per request over the same window is a **control**: it does the same "
          "work whichever proxy is in front, so its spread across runs shows how much the machine's "
          "load moved the figures.",
          "- Peak RSS is VmHWM of the proxy's processes (summed for nginx) after the throughput "
          "rounds, before the idle-connection test.", "",
          "## Summary (medians across rounds)", "",
          "| target | CPU µs/req | req/s | p50 ms | p99 ms | peak RSS MB | idle conn bytes | (2nd half) |",
          "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for t in bench.measured():
        idle = bench.idle.get(t)
        L.append(f"| {t} | **{fmt('cpu', median_of(bench, t, 'cpu').value)}** | "
                 f"{fmt('rps', median_of(bench, t, 'rps').value)} | "
                 f"{fmt('p50', median_of(bench, t, 'p50').value)} | "
                 f"{fmt('p99', median_of(bench, t, 'p99').value)} | "
                 f"{fmt_mb(bench.targets[t].peak_rss_kb)} | "
                 f"{fmt_bytes(idle.bytes_per_conn if idle else None)} | "
                 f"{fmt_bytes(idle.marginal_bytes_per_conn if idle else None)} |")
    for t, reason in missing:
        L.append(f"| {t} | not measured | | | | | | |")
    L += ["", "## Per-round figures", "",
          "Round order: " + "; ".join(f"round {i + 1}: {' → '.join(o)}" for i, o in enumerate(bench.orders)),
          ""]
    for metric in ("cpu", "rps", "p50", "p99", "origin"):
        L += _metric_table(bench, metric)
    flagged = [r for r in bench.runs if r.flagged]
    if flagged:
        L += ["Flagged runs:", ""]
        L += [f"- round {r.round} {r.target}: {'; '.join(r.problems)} (`{r.raw}`)" for r in flagged]
        L.append("")
    L += _ratio_table(bench)
    L += _idle_table(bench)
    return "\n".join(L)


# ---------------------------------------------------------------------------
# stdout
# ---------------------------------------------------------------------------

def summary(bench: Bench) -> str:
    L = [f"turnpike bench — {bench.started}, {bench.machine.get('nproc')} CPUs "
         f"({bench.machine.get('cpu_model')}), {len(bench.orders)} rounds × "
         f"{bench.params['duration']} s, wrk -t{bench.params['threads']} -c{bench.params['connections']}",
         f"load average {bench.noise.get('loadavg_before')} -> {bench.noise.get('loadavg_after')}, "
         f"CPU steal {bench.noise.get('steal_pct', '—')}",
         "",
         f"{'target':<10} {'CPU us/req':>10} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
         f"{'peakRSS MB':>10} {'idle B/conn':>11} {'(2nd half)':>10}  flagged"]
    for t in bench.measured():
        idle = bench.idle.get(t)
        nflag = sum(r.flagged for r in bench.runs_of(t))
        cpu = median_of(bench, t, 'cpu')
        L.append(f"{t:<10} {fmt('cpu', cpu.value) + ('!' if cpu.all_flagged else ''):>10} "
                 f"{fmt('rps', median_of(bench, t, 'rps').value):>10} "
                 f"{fmt('p50', median_of(bench, t, 'p50').value):>8} "
                 f"{fmt('p99', median_of(bench, t, 'p99').value):>8} "
                 f"{fmt_mb(bench.targets[t].peak_rss_kb):>10} "
                 f"{fmt_bytes(idle.bytes_per_conn if idle else None):>11} "
                 f"{fmt_bytes(idle.marginal_bytes_per_conn if idle else None):>10}  "
                 f"{nflag}/{len(bench.runs_of(t))}" + (" (medians over flagged runs!)" if cpu.all_flagged else ""))
    for t, why in not_measured(bench):
        L.append(f"{t:<10} NOT MEASURED: {why}")
    L += ["", "per-round CPU us/req: " + "; ".join(
        f"{t} " + " ".join(fmt('cpu', r.cpu_us_per_req) + ("!" if r.flagged else "")
                           for r in bench.runs_of(t)) for t in bench.measured())]
    others = [t for t in bench.measured() if t != "nginx"]
    if "nginx" in bench.measured() and others:
        L += ["", "same-round ratios to nginx (median of per-round ratios):"]
        for t in others:
            parts = []
            for metric in RATIO_METRICS:
                v = median_ratio(bench, t, metric)
                parts.append(f"{metric if metric != 'cpu' else 'CPU us/req'} "
                             f"{'—' if v is None else f'{v:.2f}'}")
            L.append(f"  {t}/nginx: " + ", ".join(parts))
    for variant, (_, _, _, short) in VARIANTS.items():
        if not {"turnpike", variant} <= set(bench.measured()):
            continue
        parts = []
        for metric in RATIO_METRICS:
            v = median_ratio(bench, variant, metric, base="turnpike")
            parts.append(f"{metric if metric != 'cpu' else 'CPU us/req'} "
                         f"{'—' if v is None else f'{v:.2f}'}")
        L.append(f"  {short}, {variant}/turnpike: " + ", ".join(parts))
    for t, res in bench.idle.items():
        for prob in res.problems():
            L.append(f"idle test {t}: {prob}")
    flagged = [r for r in bench.runs if r.flagged]
    for r in flagged:
        L.append(f"FLAGGED round {r.round} {r.target}: {'; '.join(r.problems)}")
    return "\n".join(L)
