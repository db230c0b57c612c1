"""Configuration reload (SPEC §1): from the watched file, SIGHUP and the admin API; atomic, never
dropping a request, invalid configs rejected whole and counted."""
import signal
import threading
import time

from support.client import wait_until
from support.loadgen import LoadProcess
from support.upstream import by_path, respond

# -- reload under load -------------------------------------------------------------------------

LOAD_CONNECTIONS = 64
WRITES = 100
VISIBLE_WITHIN = 1.0  # seconds from the write to the change being served
PROBES = 3  # requests to the stable route after each valid change, checking its targets

HEAD = """
admin: {address: "$admin"}
upstreams:
  main:
    targets: [MAIN]
  side:
    targets: ["$b"]
routes:
  - {name: stable, paths: ["/stable/**"], upstream: main}
"""

MAIN_TARGETS = [
    '"$a"',
    '"$b"',
    '"$a", "$b"',
    '{address: "$a", weight: 3}, {address: "$b", weight: 1}',
]
DYN_UPSTREAMS = ["$ua", "$ub", "builtin:echo", "side"]

# Each invalid config is the next valid one plus one mistake, so that if it were (partly)
# applied its new route would show.
INVALID = [
    ("unknown key", '  - {name: bad-IDX, paths: ["/bad/IDX"], upstream: main, timout: 1s}\n'),
    ("unknown upstream", '  - {name: bad-IDX, paths: ["/bad/IDX"], upstream: no-such}\n'),
    ("YAML syntax", '  - {name: bad-IDX, paths: ["/bad/IDX"], upstream: main\n'),
    ("bad duration",
     '  - {name: bad-IDX, paths: ["/bad/IDX"], upstream: main, timeout: 5 parsecs}\n'),
    ("duplicate name", '  - {name: stable, paths: ["/bad/IDX"], upstream: main}\n'),
]


def make_config(step: int, dyn: list[tuple[int, str]], extra: str = "") -> str:
    text = HEAD.replace("MAIN", MAIN_TARGETS[step % len(MAIN_TARGETS)])
    for index, up in dyn:
        text += f'  - {{name: dyn-{index}, paths: ["/dyn/{index}/**"], upstream: "{up}"}}\n'
    return text + extra


def main_bodies(step: int) -> set[bytes]:
    spec = MAIN_TARGETS[step % len(MAIN_TARGETS)]
    return {body for name, body in (("$a", b"A"), ("$b", b"B")) if name in spec}


def poll_status(gw, path: str, want: int, within: float) -> float:
    """Requests `path` (new connection each time) until it answers `want`; the seconds it took,
    or an AssertionError after `within`."""
    start = time.monotonic()
    last = None
    while True:
        last = gw.request("GET", path, timeout=2)
        if last.status == want:
            return time.monotonic() - start
        if time.monotonic() - start > within:
            raise AssertionError(f"GET {path}: still {last.status} after {within}s "
                                 f"(expected {want}): {last!r}")
        time.sleep(0.01)


def test_reload_under_load(gateway):
    """64 keep-alive connections on a route present in every config while the file is
    rewritten 100 times (one in five invalid; two in three atomically, the rest in place).
    The load and its upstreams run in a child process (support/loadgen.py)."""
    with LoadProcess(bodies=["A", "B"]) as lp:
        a, b = lp.upstreams["A"], lp.upstreams["B"]
        values = dict(a=a, b=b, ua=f"http://{a}", ub=f"http://{b}")
        dyn: list[tuple[int, str]] = [(0, DYN_UPSTREAMS[0])]
        gw = gateway(make_config(0, dyn), workers=2, **values)
        api = gw.admin()
        assert gw.request("GET", "/dyn/0/x").status == 200

        started = lp.start(gw.port, LOAD_CONNECTIONS, "/stable", accept=["A", "B"])
        assert started["started"] and not started["failures"], started
        t0 = time.monotonic()
        valid = invalid = step = 0
        slowest = 0.0
        try:
            for i in range(1, WRITES + 1):
                atomic = i % 3 != 0  # every third write in place
                if i % 5 == 0:
                    # Invalid: the next valid change plus one mistake.
                    what, line = INVALID[(i // 5) % len(INVALID)]
                    text = make_config(step + 1, dyn + [(i, DYN_UPSTREAMS[i % 4])],
                                       extra=line.replace("IDX", str(i)))
                    gw.write_config(text, atomic=atomic)
                    invalid += 1
                    api.wait_reloads(valid, invalid, timeout=VISIBLE_WITHIN)
                    assert gw.request("GET", f"/dyn/{i}/x").status == 404, \
                        f"write {i} ({what}) was applied"
                    assert gw.request("GET", f"/bad/{i}").status == 404, \
                        f"write {i} ({what}) was applied"
                    newest = dyn[-1][0]
                    assert gw.request("GET", f"/dyn/{newest}/x").status == 200, \
                        f"write {i} ({what}): the running routes are gone"
                    continue
                # Valid: add a route, drop the oldest beyond five, move `main` elsewhere.
                step += 1
                removed = dyn.pop(0) if len(dyn) >= 5 else None
                dyn.append((i, DYN_UPSTREAMS[i % 4]))
                gw.write_config(make_config(step, dyn), atomic=atomic)
                valid += 1
                slowest = max(slowest, poll_status(gw, f"/dyn/{i}/x", 200, VISIBLE_WITHIN))
                if removed:
                    assert gw.request("GET", f"/dyn/{removed[0]}/x").status == 404, \
                        f"write {i}: removed route dyn-{removed[0]} still served"
                # `main` now balances over this step's targets only.
                for _ in range(PROBES):
                    resp = gw.request("GET", "/stable/probe")
                    assert resp.status == 200 and resp.body in main_bodies(step), \
                        f"write {i}: /stable answered {resp!r}, expected {main_bodies(step)}"
            time.sleep(0.3)  # the load runs on the last config for a moment too
        finally:
            result = lp.stop()
        duration = time.monotonic() - t0

    failures = result["failures"]
    assert failures == [], (f"{len(failures)} failed requests under reload (of "
                            f"{result['ok'] + len(failures)}); first ones:\n" +
                            "\n".join(failures[:20]))
    assert result["threads_alive"] == 0
    assert result["ok"] > LOAD_CONNECTIONS * 20, f"only {result['ok']} requests in {duration:.1f}s"
    m = api.metrics()
    assert m.value("turnpike_config_reloads_total", result="success") == valid == 80
    assert m.value("turnpike_config_reloads_total", result="failure") == invalid == 20
    assert m.value("turnpike_config_generation") == 1 + valid
    # Every request to the stable route was counted under it, across 81 configurations.
    counted = m.total("turnpike_http_requests_total", route="stable")
    assert counted == m.total("turnpike_http_requests_total", route="stable", status="200"), \
        m.select("turnpike_http_requests_total", route="stable")
    assert counted == result["ok"] + PROBES * valid, (counted, result["ok"], PROBES * valid)
    print(f"\nreload under load: {result['ok']} requests on {LOAD_CONNECTIONS} connections in "
          f"{duration:.1f}s; {valid} valid + {invalid} invalid writes; slowest change served "
          f"after {slowest * 1000:.0f} ms")


# -- the three sources ----------------------------------------------------------------------

SIMPLE = """
admin: {address: "$admin"}
routes:
  - {name: r1, paths: ["/one/**"], upstream: "builtin:echo"}
"""
SIMPLE_PLUS = SIMPLE + """
  - {name: r2, paths: ["/two/**"], upstream: "builtin:echo"}
"""
SIMPLE_BAD = SIMPLE + """
  - {name: r3, paths: ["/three/**"], upstream: "builtin:echo", retries: 3}
"""


def test_rewrite_with_identical_bytes_is_a_no_op(gateway):
    gw = gateway(SIMPLE)
    api = gw.admin()
    gw.write_config(atomic=True)   # the same text
    gw.write_config(atomic=False)
    time.sleep(0.5)  # > debounce + a reload; nothing may happen
    assert api.generation() == 1
    assert api.reloads() == (0, 0)
    # The watcher is alive: a real change is picked up.
    gw.write_config(SIMPLE_PLUS)
    poll_status(gw, "/two/x", 200, VISIBLE_WITHIN)
    assert api.generation() == 2 and api.reloads() == (1, 0)


def test_sighup_rereads_the_file_unconditionally(gateway):
    gw = gateway(SIMPLE)
    api = gw.admin()
    before = api.get_json("/config")
    gw.send_signal(signal.SIGHUP)
    api.wait_reloads(1, 0)
    after = api.get_json("/config")
    assert after["generation"] == before["generation"] + 1
    assert after["hash"] == before["hash"]
    assert gw.request("GET", "/one/x").status == 200


def test_invalid_file_and_sighup_are_rejected_and_counted(gateway):
    gw = gateway(SIMPLE)
    api = gw.admin()
    gw.write_config(SIMPLE_BAD)
    api.wait_reloads(0, 1)
    gw.send_signal(signal.SIGHUP)  # the same bad file again: one more failed attempt
    api.wait_reloads(0, 2)
    assert api.generation() == 1
    assert gw.request("GET", "/one/x").status == 200
    assert gw.request("GET", "/three/x").status == 404
    assert gw.alive()
    stderr = gw.stderr_path.read_text()
    assert "retries" in stderr, "the rejected config's error was not logged:\n" + stderr
    # Fixed: applied.
    gw.write_config(SIMPLE_PLUS)
    poll_status(gw, "/two/x", 200, VISIBLE_WITHIN)
    assert api.reloads() == (1, 2)


def test_deleted_config_file_keeps_the_running_config(gateway):
    gw = gateway(SIMPLE)
    api = gw.admin()
    gw.config_path.unlink()
    time.sleep(0.4)
    assert gw.request("GET", "/one/x").status == 200
    assert api.generation() == 1
    gw.write_config(SIMPLE_PLUS)
    poll_status(gw, "/two/x", 200, VISIBLE_WITHIN)
    assert api.generation() == 2


def test_request_in_flight_finishes_on_the_config_it_started_with(gateway, upstream):
    old = upstream(by_path({"/slow": respond(200, b"old config", delay=1.0)},
                           default=respond(200, b"old")))
    new = upstream(respond(200, b"new"))
    gw = gateway("""
        admin: {address: "$admin"}
        routes:
          - {name: svc, paths: ["/**"], upstream: "$up"}
    """, up=old.url)
    api = gw.admin()
    result = {}

    def slow():
        try:
            result["resp"] = gw.request("GET", "/slow", timeout=5)
        except Exception as e:  # reported below
            result["error"] = e

    t = threading.Thread(target=slow)
    t.start()
    old.wait_requests(1)
    # The upstream moves, and the old one leaves the config entirely.
    resp = api.post("/config", gw.config_text(gw.port, up=new.url))
    assert resp.status == 200, resp
    assert gw.request("GET", "/after").body == b"new"
    t.join(timeout=5)
    assert "error" not in result, result.get("error")
    assert (result["resp"].status, result["resp"].body) == (200, b"old config")
    assert len(new.requests) == 1 and len(old.requests) == 1


def test_symlink_swap_is_picked_up(gateway):
    """The way Kubernetes updates a mounted ConfigMap: the config file is a symlink through
    `..data`, and `..data` is atomically replaced by a symlink to a new directory."""
    import os
    gw = gateway(SIMPLE)
    api = gw.admin()
    d = gw.workdir
    (d / "v1").mkdir()
    (d / "v1" / "turnpike.yaml").write_text(gw.config_text(gw.port))
    os.symlink("v1", d / "..data")
    os.symlink("..data/turnpike.yaml", d / "link.tmp")
    os.replace(d / "link.tmp", gw.config_path)  # same bytes: no reload
    time.sleep(0.3)
    assert api.reloads() == (0, 0)
    (d / "v2").mkdir()
    (d / "v2" / "turnpike.yaml").write_text(gw.config_text(gw.port, SIMPLE_PLUS))
    os.symlink("v2", d / "..data_tmp")
    os.replace(d / "..data_tmp", d / "..data")
    poll_status(gw, "/two/x", 200, VISIBLE_WITHIN)
    assert api.reloads() == (1, 0)


def test_connections_to_a_removed_target_are_closed(gateway, upstream):
    """After a reload drops a target, its idle pooled connections are closed at once, and the
    connection of a request still in flight to it is closed when that request is done (not
    kept in a pool nobody will use)."""
    old = upstream(by_path({"/slow": respond(200, b"old slow", delay=1.0)},
                           default=respond(200, b"old")))
    new = upstream(respond(200, b"new"))
    gw = gateway("""
        admin: {address: "$admin"}
        upstreams:
          svc: {targets: ["$up"]}
        routes:
          - {name: svc, paths: ["/**"], upstream: svc}
    """, up=old.address, workers=1)
    api = gw.admin()
    # Two pooled connections to `old` (two requests at once).
    warm = [threading.Thread(target=lambda: gw.request("GET", "/slow", timeout=5))
            for _ in range(2)]
    for t in warm:
        t.start()
    for t in warm:
        t.join(timeout=5)
    assert old.accepted == 2
    # One goes back to work on a slow request; the other stays idle.
    result = {}
    slow = threading.Thread(target=lambda: result.setdefault(
        "resp", gw.request("GET", "/slow", timeout=5)))
    slow.start()
    old.wait_requests(3)
    gw.write_config(up=new.address)
    api.wait_generation(2)
    wait_until(lambda: len(old.events_of("peer_closed")) >= 1, timeout=1,
               what="the idle connection to the removed target to be closed")
    slow.join(timeout=5)
    assert (result["resp"].status, result["resp"].body) == (200, b"old slow")
    wait_until(lambda: len(old.events_of("peer_closed")) >= 2, timeout=1,
               what="the connection of the finished request to the removed target to be "
                    "closed (it stays open in the pool)")
    assert gw.request("GET", "/x").body == b"new"


def test_change_written_while_the_gateway_starts_is_picked_up(gateway):
    """The file changes after turnpike has read it at start-up but before it is watching it
    (here: while a 5,000-route config is being parsed). The change must still take effect:
    the running config may not stay behind the file, silently, until some later edit."""
    import os
    bulk = "".join(f'  - {{name: bulk-{i}, paths: ["/bulk/{i}/**"], upstream: "builtin:echo"}}\n'
                   for i in range(5000))
    first = SIMPLE + bulk
    gw = gateway(first, start=False)
    gw.launch()
    path = gw.config_path
    # relatime: the first read after our write moves atime past mtime.
    wait_until(lambda: os.stat(path).st_atime_ns > os.stat(path).st_mtime_ns, timeout=5,
               interval=0.001, what="turnpike to read its config file")
    gw.write_config(first + '  - {name: late, paths: ["/late/**"], upstream: "builtin:echo"}\n')
    wait_until(lambda: gw.alive() and port_ready(gw), timeout=10, what="turnpike to start")
    try:
        poll_status(gw, "/late/x", 200, 1.5)
    except AssertionError:
        (gw.workdir / "unrelated.txt").write_text("an event in the watched directory\n")
        try:
            poll_status(gw, "/late/x", 200, 1.0)
            nudged = "only after an unrelated file in the directory changed"
        except AssertionError:
            nudged = "not even after another event in the directory (the file's new bytes " \
                     "are taken as already seen)"
        raise AssertionError(f"the config written during start-up was not applied: /late is "
                             f"404 {nudged}; generation {gw.admin().generation()}") from None


def port_ready(gw) -> bool:
    from support.client import port_accepts
    return port_accepts(gw.port) and port_accepts(gw.admin_port)
