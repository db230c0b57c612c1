"""Metrics (SPEC §7): after known traffic, /metrics is valid Prometheus text (promtool) and every
counter equals what was sent, status by status and outcome by outcome."""
import time

import pytest

from support.admin import promtool_check
from support.client import wait_until
from support.gateway import free_port, run_cli
from support.upstream import garbage, reset, respond

CONFIG = """
admin: {address: "$admin"}
upstreams:
  okup: {targets: ["$ok"]}
  fiveup: {targets: ["$five"]}
  resetup: {targets: ["$reset"]}
  garbageup: {targets: ["$garbage"]}
  slowup:
    targets: ["$slow"]
    timeouts: {response_header: 200ms}
  deadup: {targets: ["$dead"]}
routes:
  - {name: ok, paths: ["/ok/**"], upstream: okup}
  - {name: five, paths: ["/five"], upstream: fiveup}
  - {name: reset, paths: ["/reset"], upstream: resetup}
  - {name: garbage, paths: ["/garbage"], upstream: garbageup}
  - {name: slow, paths: ["/slow"], upstream: slowup}
  - {name: dead, paths: ["/dead"], upstream: deadup}
  - {name: echo, paths: ["/echo"], upstream: "builtin:echo"}
  - {name: idle, paths: ["/never"], upstream: okup}
"""

# (route, method, path, expected status, how many)
TRAFFIC = [
    ("ok", "GET", "/ok/a", 200, 7),
    ("ok", "POST", "/ok/b", 200, 3),
    ("ok", "PUT", "/ok/c", 200, 1),
    ("five", "GET", "/five", 503, 2),
    ("reset", "GET", "/reset", 502, 2),
    ("garbage", "GET", "/garbage", 502, 2),
    ("slow", "GET", "/slow", 504, 1),
    ("dead", "GET", "/dead", 502, 3),
    ("echo", "GET", "/echo", 200, 2),
    ("", "GET", "/nothing/here", 404, 4),
    ("", "DELETE", "/nowhere", 404, 1),
]
# upstream -> (outcome, attempts)
OUTCOMES = {
    "okup": ("success", 11),
    "fiveup": ("http_5xx", 2),
    "resetup": ("reset", 2),
    "garbageup": ("invalid_response", 2),
    "slowup": ("timeout", 1),
    "deadup": ("connect_error", 3),
}

COUNTERS = ["turnpike_http_requests_total", "turnpike_upstream_requests_total",
            "turnpike_rate_limited_total", "turnpike_config_reloads_total",
            "turnpike_log_dropped_total", "turnpike_trace_spans_dropped_total"]
HISTOGRAMS = ["turnpike_http_request_duration_seconds",
              "turnpike_upstream_request_duration_seconds"]
GAUGES = ["turnpike_active_connections", "turnpike_upstream_connections",
          "turnpike_circuit_breaker_state", "turnpike_upstream_target_healthy",
          "turnpike_config_generation", "turnpike_build_info"]


@pytest.fixture(scope="module")
def scraped(module_stack):
    """A two-worker gateway after TRAFFIC; (gateway, upstream addresses, metrics)."""
    s = module_stack
    ups = {
        "ok": s.upstream(respond(200, b"fine")),
        "five": s.upstream(respond(503, b"down")),
        "reset": s.upstream(reset),
        "garbage": s.upstream(garbage()),
        "slow": s.upstream(respond(200, b"late", delay=2.0)),
    }
    addresses = {k: u.address for k, u in ups.items()}
    addresses["dead"] = f"127.0.0.1:{free_port()}"  # nothing listens there
    gw = s.gateway(CONFIG, workers=2, **addresses)
    api = gw.admin()
    with gw.conn() as keepalive:
        for route, method, path, status, n in TRAFFIC:
            for i in range(n):
                body = b"x" * 10 if method in ("POST", "PUT") else b""
                # Half on a fresh connection, half on the kept-alive one.
                if i % 2:
                    resp = gw.request(method, path, body=body)
                else:
                    resp = keepalive.request(method, path, body=body)
                    if (resp.header("Connection") or "").lower() == "close":
                        keepalive.close()
                        keepalive = gw.conn()
                assert resp.status == status, (route, method, path, resp)
    # The client connections are closed: the gauge comes back to 0.
    wait_until(lambda: api.metrics().value("turnpike_active_connections") == 0, timeout=3,
               what="turnpike_active_connections to drop to 0")
    return gw, addresses, api.metrics()


def test_metrics_pass_promtool(scraped):
    _, _, m = scraped
    ok, output = promtool_check(m.text)
    assert ok, f"promtool check metrics:\n{output}"


def test_metrics_content_type_is_prometheus_text(scraped):
    gw, _, _ = scraped
    resp = gw.admin().get("/metrics")
    ctype = resp.header("Content-Type") or ""
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype


def test_every_spec_metric_is_there_with_its_type(scraped):
    _, _, m = scraped
    for name in COUNTERS:
        assert m.types.get(name) == "counter", (name, m.types.get(name))
    for name in HISTOGRAMS:
        assert m.types.get(name) == "histogram", (name, m.types.get(name))
    for name in GAUGES:
        assert m.types.get(name) == "gauge", (name, m.types.get(name))
    for name in ["process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_open_fds", "process_max_fds", "process_start_time_seconds",
                 "process_virtual_memory_bytes"]:
        assert m.select(name), f"no {name}"
    assert m.value("process_resident_memory_bytes") > 1 << 20
    assert abs(m.value("process_start_time_seconds") - time.time()) < 120
    assert m.value("process_open_fds") > 3


def test_request_counters_equal_what_was_sent(scraped):
    _, _, m = scraped
    expected = {}
    for route, method, _, status, n in TRAFFIC:
        key = (route, method, str(status))
        expected[key] = expected.get(key, 0) + n
    got = {(lab["route"], lab["method"], lab["status"]): v
           for lab, v in m.select("turnpike_http_requests_total")}
    assert got == expected, f"turnpike_http_requests_total:\n got {got}\nwant {expected}"
    for lab, _ in m.select("turnpike_http_requests_total"):
        assert set(lab) == {"route", "method", "status"}, lab


def test_request_duration_histograms_are_cumulative_and_count_every_request(scraped):
    _, _, m = scraped
    per_route = {}
    for route, _, _, _, n in TRAFFIC:
        per_route[route] = per_route.get(route, 0) + n
    for route, n in per_route.items():
        buckets, total, count = m.histogram("turnpike_http_request_duration_seconds",
                                            route=route)
        assert count == n, (route, count, n)
        assert buckets, f"no buckets for route {route!r}"
        bounds = [le for le, _ in buckets]
        assert bounds == sorted(bounds) and bounds[-1] == float("inf"), (route, bounds)
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), f"buckets of {route!r} not cumulative: {buckets}"
        assert counts[-1] == count, (route, buckets, count)
        assert total > 0
    # The slow route's one request took >= 200ms (the response_header timeout).
    buckets, total, _ = m.histogram("turnpike_http_request_duration_seconds", route="slow")
    assert total >= 0.2
    assert all(c == 0 for le, c in buckets if le < 0.1), buckets
    # Routes that got no request have no series (or an empty one).
    idle = m.select("turnpike_http_request_duration_seconds_count", route="idle")
    assert all(v == 0 for _, v in idle), idle


def test_upstream_outcomes_equal_what_happened(scraped):
    _, addresses, m = scraped
    key = {"okup": "ok", "fiveup": "five", "resetup": "reset", "garbageup": "garbage",
           "slowup": "slow", "deadup": "dead"}
    for upstream, (outcome, n) in OUTCOMES.items():
        samples = {lab["outcome"]: v for lab, v in
                   m.select("turnpike_upstream_requests_total", upstream=upstream)}
        assert samples == {outcome: n}, f"{upstream}: {samples}, expected {{{outcome}: {n}}}"
        [(lab, _)] = m.select("turnpike_upstream_requests_total", upstream=upstream)
        assert lab["target"] == addresses[key[upstream]], lab


def test_upstream_duration_histogram_counts_the_answers(scraped):
    _, _, m = scraped
    buckets, total, count = m.histogram("turnpike_upstream_request_duration_seconds",
                                        upstream="okup")
    assert count == 11
    counts = [c for _, c in buckets]
    assert counts == sorted(counts) and counts[-1] == count, buckets
    _, _, five = m.histogram("turnpike_upstream_request_duration_seconds", upstream="fiveup")
    assert five == 2
    for lab, v in m.select("turnpike_upstream_request_duration_seconds_count"):
        assert v <= OUTCOMES.get(lab["upstream"], ("", 0))[1], (lab, v)


def test_gauges(scraped):
    gw, addresses, m = scraped
    assert m.value("turnpike_active_connections") == 0
    assert m.value("turnpike_upstream_connections", upstream="okup", state="active") == 0
    idle = m.value("turnpike_upstream_connections", upstream="okup", state="idle")
    assert 1 <= idle <= 2 * 2, idle  # two workers; sequential traffic
    assert m.value("turnpike_upstream_connections", upstream="deadup", state="idle") == 0
    for upstream, k in [("okup", "ok"), ("deadup", "dead"), ("fiveup", "five")]:
        labels = dict(upstream=upstream, target=addresses[k])
        assert m.value("turnpike_upstream_target_healthy", **labels) == 1
        assert m.value("turnpike_circuit_breaker_state", **labels) in (0, 1, 2)
    assert m.value("turnpike_config_generation") == 1
    assert m.value("turnpike_config_reloads_total", result="success") == 0
    assert m.value("turnpike_config_reloads_total", result="failure") == 0
    for route in ("ok", "five", "dead", "echo", "idle"):
        assert m.value("turnpike_rate_limited_total", route=route) == 0
    assert m.value("turnpike_log_dropped_total") == 0
    [(lab, v)] = m.select("turnpike_build_info")
    assert v == 1
    version = run_cli("version").stdout.split()[1]
    assert lab["version"] == version, (lab, version)


def test_health_metrics_agrees_with_metrics(scraped):
    gw, _, m = scraped
    doc = gw.admin().get_json("/health/metrics")
    routes = {r["route"]: r for r in doc["routes"]}
    for route, method, _, status, n in TRAFFIC:
        if route:
            assert routes[route]["statuses"].get(str(status), 0) == \
                m.total("turnpike_http_requests_total", route=route, status=str(status)), route
    assert doc["unmatched"]["statuses"] == {"404": 5}, doc["unmatched"]
    assert doc["requests"] == sum(n for *_, n in TRAFFIC)
    assert routes["idle"]["requests"] == 0


def test_in_flight_gauges_while_requests_are_held(gateway, upstream):
    import threading
    release = threading.Event()

    def held(req, ctx):
        release.wait(10)
        return respond(200, b"done")(req, ctx)

    up = upstream(held)
    gw = gateway("""
        admin: {address: "$admin"}
        routes:
          - {name: held, paths: ["/**"], upstream: "$up"}
    """, up=up.url, workers=2)
    api = gw.admin()
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        gw.request("GET", "/h", timeout=10).status)) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        up.wait_requests(3)
        m = api.metrics()
        assert m.value("turnpike_active_connections") == 3
        # The inline-URL upstream's group is named by its URL.
        assert m.value("turnpike_upstream_connections", upstream=up.url, state="active") == 3
    finally:
        release.set()
        for t in threads:
            t.join(timeout=10)
    assert results == [200] * 3


def test_route_label_values_are_escaped(gateway):
    gw = gateway(r"""
        admin: {address: "$admin"}
        routes:
          - {name: 'we"ird\route', paths: ["/w"], upstream: "builtin:echo"}
    """)
    assert gw.request("GET", "/w").status == 200
    m = gw.admin().metrics()
    ok, output = promtool_check(m.text)
    assert ok, output
    assert m.value("turnpike_http_requests_total", route='we"ird\\route', method="GET",
                   status="200") == 1
