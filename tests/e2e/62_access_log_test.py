"""The access log (SPEC §8): one JSON line per request with exactly the SPEC fields, null where
there is no value, ids matching what the upstream saw; silenced per route or globally; stdout,
stderr, off or a file that is reopened on SIGUSR1."""
import datetime
import json
import os
import re
import signal
import time
import uuid

import pytest

from support import logs
from support.client import build_request, wait_until
from support.gateway import free_port
from support.upstream import echo, respond

PROXY = """
upstreams:
  svc: {targets: ["$up"]}
  dead: {targets: ["$dead"]}
routes:
  - {name: api, paths: ["/api/**"], upstream: svc}
  - {name: down, paths: ["/down"], upstream: dead}
  - {name: local, paths: ["/local"], upstream: "builtin:echo"}
"""

STRING_OR_NULL = {"request_id", "trace_id", "span_id", "client_ip", "method", "host", "path",
                  "route", "upstream", "target", "consumer", "user_agent", "error"}
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


def new_id() -> str:
    return "e2e-" + uuid.uuid4().hex[:16]


def check_shape(line: dict) -> None:
    assert list(line) == list(logs.ACCESS_FIELDS) or set(line) == set(logs.ACCESS_FIELDS), \
        f"fields {sorted(set(line) ^ set(logs.ACCESS_FIELDS))} differ from SPEC §8: {line}"
    for key in STRING_OR_NULL:
        assert line[key] is None or (isinstance(line[key], str) and line[key] != ""), \
            f"{key} must be a non-empty string or null: {line}"
    for key in ("status", "bytes_in", "bytes_out"):
        assert isinstance(line[key], int) and not isinstance(line[key], bool), (key, line)
        assert line[key] >= 0
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0, line
    up_ms = line["upstream_ms"]
    assert up_ms is None or (isinstance(up_ms, (int, float))
                             and 0 <= up_ms <= line["duration_ms"]), line
    assert TIME.match(line["time"]), line["time"]
    when = datetime.datetime.fromisoformat(line["time"].replace("Z", "+00:00"))
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - when).total_seconds()) < 60, (line["time"], now)
    assert re.fullmatch(r"[0-9a-f]{32}", line["trace_id"] or ""), line
    assert re.fullmatch(r"[0-9a-f]{16}", line["span_id"] or ""), line


def traceparent_ids(value: str) -> tuple[str, str]:
    m = re.fullmatch(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}", value or "")
    assert m, f"bad traceparent at the upstream: {value!r}"
    return m[1], m[2]


def exchange(gw, raw: bytes):
    """Sends exact bytes on a fresh connection; (response, bytes received in all)."""
    with gw.conn() as c:
        c.send(raw)
        resp = c.read_response()
    return resp, len(resp.raw_head) + len(resp.body)


@pytest.fixture(scope="module")
def env(module_stack):
    up = module_stack.upstream(echo)
    gw = module_stack.gateway(PROXY, up=up.address, dead=f"127.0.0.1:{free_port()}", workers=2)
    return gw, up


@pytest.mark.parametrize("body_size", [1000, 300_000])
def test_proxied_request_line(env, body_size):
    """Every field of the line; with a body far larger than a read buffer too (the head's
    fields must survive the body streaming through the connection's buffers)."""
    gw, up = env
    rid = new_id()
    trace = uuid.uuid4().hex
    raw = build_request("POST", "/api/items", headers=[
        ("X-Request-Id", rid), ("User-Agent", "e2e-agent/1.0"),
        ("traceparent", f"00-{trace}-{'ab' * 8}-01")], body=b"p" * body_size, host="shop.test")
    resp, received = exchange(gw, raw)
    assert resp.status == 200
    seen = [r for r in up.requests if r.header("X-Request-Id") == rid]
    assert len(seen) == 1
    line = gw.wait_access_log([rid])[rid]
    check_shape(line)
    up_trace, _ = traceparent_ids(seen[0].header("traceparent"))
    assert line["trace_id"] == up_trace == trace
    assert line["request_id"] == rid == resp.header("X-Request-Id")
    assert line["span_id"] != "ab" * 8, "the log shows the client's parent id as our span"
    expected = {"client_ip": "127.0.0.1", "method": "POST", "host": "shop.test",
                "path": "/api/items", "route": "api", "upstream": "svc", "target": up.address,
                "status": 200, "consumer": None, "user_agent": "e2e-agent/1.0", "error": None}
    assert {k: line[k] for k in expected} == expected, line
    assert line["bytes_in"] == len(raw), (line["bytes_in"], len(raw))
    assert line["bytes_out"] == received, (line["bytes_out"], received)
    assert line["upstream_ms"] is not None


def test_generated_request_id_and_new_trace_match_the_upstream(env):
    gw, up = env
    marker = new_id()
    resp = gw.request("GET", f"/api/{marker}")
    assert resp.status == 200
    [seen] = [r for r in up.requests if r.path == f"/api/{marker}"]
    rid = seen.header("X-Request-Id")
    assert rid and rid == resp.header("X-Request-Id")
    line = gw.wait_access_log([rid])[rid]
    check_shape(line)
    assert line["trace_id"] == traceparent_ids(seen.header("traceparent"))[0]
    assert line["user_agent"] is None, "no User-Agent was sent: null expected"
    assert line["path"] == f"/api/{marker}"


def test_no_route_line_has_nulls(env):
    gw, _ = env
    rid = new_id()
    resp = gw.request("GET", "/nowhere", headers=[("X-Request-Id", rid)])
    assert resp.status == 404
    line = gw.wait_access_log([rid])[rid]
    check_shape(line)
    for key in ("route", "upstream", "target", "upstream_ms", "consumer", "user_agent"):
        assert line[key] is None, (key, line)
    assert (line["status"], line["error"]) == (404, "no_route"), line


def test_bad_gateway_line_names_the_target_and_the_error(env):
    gw, _ = env
    rid = new_id()
    resp = gw.request("GET", "/down", headers=[("X-Request-Id", rid)])
    assert resp.status == 502
    line = gw.wait_access_log([rid])[rid]
    check_shape(line)
    assert (line["route"], line["upstream"], line["status"]) == ("down", "dead", 502), line
    assert line["target"] and line["target"].startswith("127.0.0.1:"), line
    assert line["error"] == "bad_gateway", line


def test_upstream_error_status_is_not_a_gateway_error(gateway, upstream):
    up = upstream(respond(500, b"boom"))
    gw = gateway(PROXY, up=up.address, dead="127.0.0.1:1")
    rid = new_id()
    assert gw.request("GET", "/api/x", headers=[("X-Request-Id", rid)]).status == 500
    line = gw.wait_access_log([rid])[rid]
    assert (line["status"], line["error"]) == (500, None), line


def test_duration_covers_a_slow_upstream(gateway, upstream):
    up = upstream(respond(200, b"slow", delay=0.3))
    gw = gateway(PROXY, up=up.address, dead="127.0.0.1:1")
    rid = new_id()
    assert gw.request("GET", "/api/x", headers=[("X-Request-Id", rid)]).status == 200
    line = gw.wait_access_log([rid])[rid]
    assert 300 <= line["upstream_ms"] <= line["duration_ms"] < 3000, line


def test_one_line_per_request(env):
    gw, _ = env
    ids = [new_id() for _ in range(20)]
    with gw.conn() as c:
        for i, rid in enumerate(ids):
            path = ["/api/k", "/local", "/nope", "/down"][i % 4]
            c.request("GET", path, headers=[("X-Request-Id", rid)])
    found = gw.wait_access_log(ids)  # fails on a duplicate
    assert len(found) == 20
    for line in found.values():
        check_shape(line)
    assert gw.access_lines("stderr") == [], "access lines went to stderr too"


def test_error_log_is_json_on_stderr(env):
    gw, _ = env
    for line in logs.error_lines(gw.stderr_path):
        assert {"time", "level", "msg"} <= set(line), line
        assert TIME.match(line["time"]), line


# -- silencing ---------------------------------------------------------------------------------

def settle_with_marker(gw, path="/loud", source="stdout"):
    """Sends a logged request and waits for its line; lines of earlier requests (same
    connection, one worker) are then written too."""
    rid = new_id()
    gw.request("GET", path, headers=[("X-Request-Id", rid)])
    gw.wait_access_log([rid], source=source)
    time.sleep(0.15)


def test_route_plugin_silences_a_route(gateway):
    gw = gateway("""
        routes:
          - {name: loud, paths: ["/loud"], upstream: "builtin:echo"}
          - {name: quiet, paths: ["/quiet"], upstream: "builtin:echo",
             plugins: {access_log: {enabled: false}}}
    """, workers=1)
    quiet = [new_id() for _ in range(3)]
    for rid in quiet:
        assert gw.request("GET", "/quiet", headers=[("X-Request-Id", rid)]).status == 200
    settle_with_marker(gw)
    logged = {line["request_id"] for line in gw.access_lines()}
    assert not logged & set(quiet), "a silenced route was logged"
    assert len(logged) == 1


def test_global_plugin_silences_all_but_a_route_that_reenables_it(gateway):
    gw = gateway("""
        plugins:
          access_log: {enabled: false}
        routes:
          - {name: loud, paths: ["/loud"], upstream: "builtin:echo",
             plugins: {access_log: {enabled: true}}}
          - {name: quiet, paths: ["/quiet"], upstream: "builtin:echo"}
    """, workers=1)
    quiet = [new_id() for _ in range(3)]
    for rid in quiet:
        assert gw.request("GET", "/quiet", headers=[("X-Request-Id", rid)]).status == 200
    settle_with_marker(gw)
    logged = {line["request_id"] for line in gw.access_lines()}
    assert not logged & set(quiet), "a route silenced by the global plugin was logged"


def test_path_off_writes_nothing(gateway):
    gw = gateway("""
        logging: {access_log: {path: "off"}}
        routes:
          - {name: r, paths: ["/**"], upstream: "builtin:echo"}
    """)
    for i in range(5):
        assert gw.request("GET", f"/x/{i}").status == 200
    assert gw.request("GET", "/").status == 200
    time.sleep(0.4)
    assert gw.access_lines("stdout") == [] and gw.access_lines("stderr") == []


def test_path_stderr(gateway):
    gw = gateway("""
        logging: {access_log: {path: stderr}}
        routes:
          - {name: loud, paths: ["/**"], upstream: "builtin:echo"}
    """)
    rid = new_id()
    gw.request("GET", "/x", headers=[("X-Request-Id", rid)])
    line = gw.wait_access_log([rid], source="stderr")[rid]
    check_shape(line)
    assert gw.access_lines("stdout") == []


def test_file_target_is_reopened_on_sigusr1(gateway, tmp_path):
    path = tmp_path / "access.log"
    rotated = tmp_path / "access.log.1"
    gw = gateway("""
        logging: {access_log: {path: "$file"}}
        routes:
          - {name: loud, paths: ["/**"], upstream: "builtin:echo"}
    """, file=str(path))

    def send(n):
        ids = [new_id() for _ in range(n)]
        for rid in ids:
            assert gw.request("GET", "/r", headers=[("X-Request-Id", rid)]).status == 200
        return ids

    first = send(3)
    logs.wait_for_ids(path, first)
    os.rename(path, rotated)
    # Until told, the gateway keeps writing to the file it has open (now access.log.1).
    second = send(2)
    logs.wait_for_ids(rotated, second)
    assert not path.exists()
    gw.send_signal(signal.SIGUSR1)
    wait_until(path.exists, timeout=2, what="a new access.log after SIGUSR1")
    third = send(3)
    logs.wait_for_ids(path, third)
    assert {l["request_id"] for l in logs.access_lines(rotated)} == set(first + second)
    assert {l["request_id"] for l in logs.access_lines(path)} == set(third)
    for line in logs.access_lines(path):
        check_shape(line)
    assert gw.access_lines("stdout") == []
    assert gw.alive()


def test_reload_moves_the_access_log(gateway, tmp_path):
    path = tmp_path / "moved.log"
    template = """
        admin: {address: "$admin"}
        logging: {access_log: {path: "$target"}}
        routes:
          - {name: loud, paths: ["/**"], upstream: "builtin:echo"}
    """
    gw = gateway(template, target="stdout")
    before = new_id()
    gw.request("GET", "/a", headers=[("X-Request-Id", before)])
    gw.wait_access_log([before])
    gw.write_config(target=str(path))
    gw.admin().wait_generation(2)
    after = new_id()
    gw.request("GET", "/b", headers=[("X-Request-Id", after)])
    logs.wait_for_ids(path, [after])
    assert after not in {l["request_id"] for l in gw.access_lines()}


def test_no_line_is_lost_across_reloads_of_a_file_target(gateway, tmp_path):
    """Every reload (here SIGHUP, same file) re-applies `logging.access_log.path`; lines written
    meanwhile must all reach the file (or at least be counted in turnpike_log_dropped_total).
    The load comes from wrk with long User-Agents (long lines keep the log writer busy); the
    loss is a race, so this runs three rounds of ~2 s on a fresh gateway each (the first loss
    fails the test)."""
    import random
    import shutil
    import subprocess
    agent = "User-Agent: e2e-" + "u" * 3000
    for round_ in range(3):
        path = tmp_path / f"busy{round_}.log"
        gw = gateway("""
            admin: {address: "$admin"}
            logging: {access_log: {path: "$file"}}
            routes:
              - {name: r, paths: ["/**"], upstream: "builtin:echo"}
        """, file=str(path), workers=2)
        api = gw.admin()
        wrk = subprocess.Popen([shutil.which("wrk") or "/usr/bin/wrk", "-H", agent, "-t2",
                                "-c16", "-d2s", f"{gw.url}/load"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
        signals = 0
        try:
            start = time.monotonic()
            while time.monotonic() - start < 1.2:
                gw.send_signal(signal.SIGHUP)
                signals += 1
                time.sleep(random.uniform(0.002, 0.015))
            out, _ = wrk.communicate(timeout=10)
        finally:
            if wrk.poll() is None:
                wrk.kill()
                wrk.wait(timeout=5)
        time.sleep(0.3)  # the last reloads (SIGHUPs sent close together may merge into one)
        m = api.metrics()
        reloads = int(m.value("turnpike_config_reloads_total", result="success"))
        assert 0 < reloads <= signals
        requests = int(m.total("turnpike_http_requests_total"))
        dropped = int(m.value("turnpike_log_dropped_total"))
        assert requests > 1000, out
        deadline = time.monotonic() + 2
        while len(logs.access_lines(path)) < requests - dropped and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = len(logs.access_lines(path))
        assert lines + dropped == requests, (
            f"round {round_ + 1}: {requests} requests, {lines} lines in the file, {dropped} "
            f"counted as dropped: {requests - dropped - lines} lines lost without a trace "
            f"during {reloads} reloads")
        assert gw.stop() == 0


def test_line_is_valid_json_whatever_bytes_the_client_sent(gateway):
    """HTTP allows obs-text (bytes 0x80-0xFF) in field values; the log line must still be
    JSON (UTF-8, RFC 8259): such bytes escaped or replaced, not copied raw."""
    gw = gateway("""
        routes:
          - {name: r, paths: ["/**"], upstream: "builtin:echo"}
    """)
    rid = new_id()
    with gw.conn() as c:
        c.send(b"GET /ua HTTP/1.1\r\nHost: t\r\nUser-Agent: caf\xe9 \"quoted\" back\\slash\r\n"
               b"X-Request-Id: " + rid.encode() + b"\r\n\r\n")
        assert c.read_response().status == 200
    deadline = time.monotonic() + logs.WAIT
    while rid.encode() not in gw.stdout_path.read_bytes() and time.monotonic() < deadline:
        time.sleep(0.02)
    [raw] = [l for l in gw.stdout_path.read_bytes().split(b"\n") if rid.encode() in l]
    try:
        line = json.loads(raw.decode("utf-8"))
    except ValueError as e:
        raise AssertionError(f"the access log line is not valid JSON ({e}): {raw!r}") from None
    assert line["user_agent"].startswith("caf") and line["user_agent"].endswith(
        '"quoted" back\\slash'), line["user_agent"]


def test_client_ip_is_the_one_the_gateway_believes(gateway):
    gw = gateway("""
        server:
          listeners: [{name: public, address: "$listen"}]
          trusted_proxies: [127.0.0.1/32]
        routes:
          - {name: r, paths: ["/**"], upstream: "builtin:echo"}
    """)
    rid = new_id()
    resp = gw.request("GET", "/x", headers=[("X-Request-Id", rid),
                                            ("X-Forwarded-For", "203.0.113.7")])
    assert resp.json()["client_ip"] == "203.0.113.7"
    assert gw.wait_access_log([rid])[rid]["client_ip"] == "203.0.113.7"
